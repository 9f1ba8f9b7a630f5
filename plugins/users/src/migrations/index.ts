import type { Migration } from '@bilbycast/core';
import { createUsers } from './001_create_users';
import { createPasswordHistory } from './002_create_password_history';

/** The users plugin's schema changes, oldest first. */
export const usersMigrations: Migration[] = [createUsers, createPasswordHistory];
