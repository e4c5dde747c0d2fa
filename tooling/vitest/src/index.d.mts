import type { UserWorkspaceConfig } from 'vitest/config';

export function workspaceAliases(): { find: RegExp; replacement: string }[];
export function packageConfig(
  dir: string,
  overrides?: NonNullable<UserWorkspaceConfig['test']>,
): UserWorkspaceConfig;
