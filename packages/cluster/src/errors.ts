import { errorCodes, P2pspError, type P2pspErrorTable } from '@p2psp/wire';

/**
 * Stable codes for misuse of this package's API (bad options, unknown member ids). Network
 * input never produces these: complaints and reports from the wire return typed outcomes
 * instead, so a core can count and drop them (brief rule 3).
 */
export type ClusterErrorCode =
  | 'P2PSP_ERR_INVALID_OPTION'
  | 'P2PSP_ERR_MEMBER_EXISTS'
  | 'P2PSP_ERR_UNKNOWN_MEMBER';

export const CLUSTER_ERRORS: P2pspErrorTable<ClusterErrorCode> = {
  P2PSP_ERR_INVALID_OPTION: { kind: 'usage', message: 'a cluster option is out of range' },
  P2PSP_ERR_MEMBER_EXISTS: { kind: 'usage', message: 'a member with this id is already listed' },
  P2PSP_ERR_UNKNOWN_MEMBER: { kind: 'usage', message: 'no member has this id' },
};

export const CLUSTER_ERROR_CODES = errorCodes(CLUSTER_ERRORS);

export class ClusterError extends P2pspError<ClusterErrorCode> {
  override readonly name = 'ClusterError';

  constructor(code: ClusterErrorCode, message?: string) {
    super(code, CLUSTER_ERRORS[code], message);
  }
}

/** Throws `P2PSP_ERR_INVALID_OPTION` unless `value` is an integer in [minimum, maximum]. */
export function checkInteger(
  option: string,
  value: number,
  minimum: number,
  maximum = Number.MAX_SAFE_INTEGER,
): number {
  return checkRange(option, value, Number.isInteger(value), 'an integer', minimum, maximum);
}

/** Throws `P2PSP_ERR_INVALID_OPTION` unless `value` is a finite number in [minimum, maximum]. */
export function checkNumber(
  option: string,
  value: number,
  minimum: number,
  maximum: number,
): number {
  return checkRange(option, value, Number.isFinite(value), 'a number', minimum, maximum);
}

function checkRange(
  option: string,
  value: number,
  wellFormed: boolean,
  kind: string,
  minimum: number,
  maximum: number,
): number {
  if (!wellFormed || value < minimum || value > maximum) {
    throw new ClusterError(
      'P2PSP_ERR_INVALID_OPTION',
      `${option} must be ${kind} from ${minimum} to ${maximum}, got ${String(value)}`,
    );
  }
  return value;
}

/** Throws `P2PSP_ERR_INVALID_OPTION` unless `value` is one of `choices`. */
export function checkChoice<Choice extends string>(
  option: string,
  value: Choice,
  choices: readonly Choice[],
): Choice {
  if (!choices.includes(value)) {
    const quoted = choices.map((choice) => `'${choice}'`);
    const listed = `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
    throw new ClusterError(
      'P2PSP_ERR_INVALID_OPTION',
      `${option} must be ${listed}, got ${String(value)}`,
    );
  }
  return value;
}
