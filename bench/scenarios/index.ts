import type { Scenario } from './scenario.js';
import { logins } from './logins.js';
import { postsSearch } from './posts-search.js';
import { usersById, usersByIdCached } from './users-by-id.js';

/** Every scenario `npm run bench` runs, in order; a new one is a file here and a line below. */
export const scenarios: Scenario[] = [usersById, usersByIdCached, logins, postsSearch];

export type { LoadPlan, Scenario, ScenarioContext } from './scenario.js';
