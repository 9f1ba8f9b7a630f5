import type { Migration } from '@bilbycast/core';
import { createNodes } from './001_create_nodes';
import { registeredAt } from './002_registered_at';

/** The nodes plugin's schema changes, oldest first. */
export const nodesMigrations: Migration[] = [createNodes, registeredAt];
