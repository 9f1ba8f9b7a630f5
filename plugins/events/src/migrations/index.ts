import type { Migration } from '@bilbycast/core';
import { createEvents } from './001_create_events';

/** The events plugin's schema changes, oldest first. */
export const eventsMigrations: Migration[] = [createEvents];
