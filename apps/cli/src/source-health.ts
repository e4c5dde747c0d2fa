import { readFileSync } from 'node:fs';
import type { SourceConfig } from '@p2psp/source';
import { type Command, InvalidArgumentError } from 'commander';

/** The source's cluster-health flags. */
export interface HealthFlags {
  monitorCredential?: string;
  monitorCredentialFile?: string;
  lrs?: boolean;
  acs?: boolean;
  complaintsBy: string;
  complaintThreshold?: number;
  complaintThresholdMs?: number;
  memberTimeout: number;
}

/** Every peer sends a stats-report every 2 s (the peer core's default): its sign of life. */
const PEER_REPORT_SECONDS = 2;

function seconds(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 3600) {
    throw new InvalidArgumentError('expected seconds from 0 to 3600 (0 turns it off).');
  }
  return value;
}

function keying(text: string): string {
  if (text !== 'endpoint' && text !== 'ip') {
    throw new InvalidArgumentError("expected 'endpoint' or 'ip'.");
  }
  return text;
}

function threshold(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError('expected an integer >= 1 (P2PSP used 32).');
  }
  return value;
}

/** `--complaint-threshold-ms`: whole milliseconds of stream, as the cluster takes them. */
export function thresholdMillis(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 3_600_000) {
    throw new InvalidArgumentError(
      'expected milliseconds of stream from 1 to 3600000 (default 2048: 32 chunks at 128 kbit/s).',
    );
  }
  return value;
}

/** Rule 8's threshold from the flags: a count as given, else stream time; not both. */
export function complaintThresholdOptions(
  flags: Pick<HealthFlags, 'complaintThreshold' | 'complaintThresholdMs'>,
): { threshold?: number; thresholdMillis?: number } {
  if (flags.complaintThreshold !== undefined && flags.complaintThresholdMs !== undefined) {
    throw Object.assign(
      new Error(
        '--complaint-threshold and --complaint-threshold-ms both given: use one of them (a count of complaints, or stream time)',
      ),
      { code: 'P2PSP_ERR_BAD_OPTION' },
    );
  }
  if (flags.complaintThreshold !== undefined) return { threshold: flags.complaintThreshold };
  if (flags.complaintThresholdMs !== undefined) {
    return { thresholdMillis: flags.complaintThresholdMs };
  }
  return {};
}

/** Adds the monitor, complaint, LRS, ACS and liveness flags to `p2psp source`. */
export function registerHealthOptions(command: Command): Command {
  return command
    .option(
      '--monitor-credential <secret>',
      'joiners asking for the monitor role must present this (p2psp peer --monitor --credential); without it the first joiner is the monitor',
    )
    .option(
      '--monitor-credential-file <path>',
      'the same, read from a file (first line; keeps the secret out of the process list)',
    )
    .option(
      '--complaints-by <key>',
      "charge monitors' complaints to the member's endpoint, or to its IP address (catches free riders that change ports; also punishes peers sharing that IP)",
      keying,
      'endpoint',
    )
    .option(
      '--complaint-threshold-ms <ms>',
      "expel a member past this much stream of complaints, in chunks at the stream's rate and at least 32 (rule 8; default 2048: P2PSP's 32 chunks at 128 kbit/s, 500 at 2 Mbit/s)",
      thresholdMillis,
    )
    .option(
      '--complaint-threshold <count>',
      'expel a member past this many complaints at any bitrate, instead of --complaint-threshold-ms (P2PSP used 32)',
      threshold,
    )
    .option(
      '--no-lrs',
      'turn off lost chunk recovery (LRS, on by default: a chunk every monitor lost is resent through a monitor)',
    )
    .option('--acs', 'adaptive chunk scheduling: members get chunks by measured reliability')
    .option(
      '--member-timeout <seconds>',
      `drop a member heard nothing from for this long (peers report every ${PEER_REPORT_SECONDS} s; 0: never)`,
      seconds,
      10,
    );
}

/** Reads the monitor credential (flag or file) as bytes; null when none was given. */
function credential(flags: HealthFlags): Uint8Array | null {
  if (flags.monitorCredential !== undefined && flags.monitorCredentialFile !== undefined) {
    throw Object.assign(
      new Error('--monitor-credential and --monitor-credential-file both given: use one of them'),
      { code: 'P2PSP_ERR_BAD_OPTION' },
    );
  }
  let text = flags.monitorCredential;
  if (flags.monitorCredentialFile !== undefined) {
    try {
      text = readFileSync(flags.monitorCredentialFile, 'utf8').split(/\r?\n/)[0];
    } catch (error) {
      throw Object.assign(
        new Error(
          `--monitor-credential-file ${flags.monitorCredentialFile}: cannot read it (${(error as Error).message}); give a readable file whose first line is the secret`,
        ),
        { code: 'P2PSP_ERR_BAD_OPTION' },
      );
    }
  }
  if (text === undefined) return null;
  if (text.length === 0) {
    throw Object.assign(
      new Error(
        'the monitor credential is empty: give a non-empty secret, or omit it to make the first joiner the monitor',
      ),
      { code: 'P2PSP_ERR_BAD_OPTION' },
    );
  }
  return new TextEncoder().encode(text);
}

/** The source core options the flags stand for. */
export function clusterOptions(flags: HealthFlags): Partial<Omit<SourceConfig, 'random'>> {
  if (flags.memberTimeout > 0 && flags.memberTimeout < 3 * PEER_REPORT_SECONDS) {
    throw Object.assign(
      new Error(
        `--member-timeout ${flags.memberTimeout}: peers report every ${PEER_REPORT_SECONDS} s, so live members would be dropped after a couple of lost reports; use ${3 * PEER_REPORT_SECONDS} or more (or 0 to turn it off)`,
      ),
      { code: 'P2PSP_ERR_BAD_OPTION' },
    );
  }
  const monitorCredential = credential(flags);
  return {
    ...(monitorCredential === null ? {} : { monitorCredential }),
    cluster: {
      lostChunkRecovery: flags.lrs !== false,
      scheduling: { policy: flags.acs === true ? 'adaptive' : 'round-robin' },
      complaints: {
        keying: flags.complaintsBy as 'endpoint' | 'ip',
        ...complaintThresholdOptions(flags),
      },
      ...(flags.memberTimeout > 0 ? { livenessTimeoutMillis: flags.memberTimeout * 1000 } : {}),
    },
  };
}
