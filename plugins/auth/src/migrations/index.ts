import type { Migration } from '@bilbycast/core';
import { sessionsAndTokens } from './001_sessions_and_tokens';

/** The auth plugin's schema changes, oldest first. */
export const authMigrations: Migration[] = [sessionsAndTokens];
