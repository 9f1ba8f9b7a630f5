import type { Migration } from '@bilbycast/core';
import { createUsers } from './001_create_users';

/** The users plugin's schema changes, oldest first. */
export const usersMigrations: Migration[] = [createUsers];
