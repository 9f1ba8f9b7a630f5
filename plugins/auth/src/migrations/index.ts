import type { Migration } from '@bilbycast/core';
import { sessionsAndTokens } from './001_sessions_and_tokens';
import { mfa } from './002_mfa';
import { oidc } from './003_oidc';
import { oidcSubjectCase } from './004_oidc_subject_case';
import { recoveryCodeKey } from './005_recovery_code_key';
import { knownAddresses } from './006_known_addresses';
import { credentialChecks } from './007_credential_checks';

/** The auth plugin's schema changes, oldest first. */
export const authMigrations: Migration[] = [sessionsAndTokens, mfa, oidc, oidcSubjectCase, recoveryCodeKey, knownAddresses, credentialChecks];
