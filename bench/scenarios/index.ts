import { forgotPasswordKnown, forgotPasswordUnknown } from './forgot-password.js';
import { graphqlUsersPosts } from './graphql-users-posts.js';
import type { Scenario } from './scenario.js';
import { logins } from './logins.js';
import { orders, orders1, orders200 } from './orders.js';
import { overload } from './overload.js';
import { postsSearch } from './posts-search.js';
import {
  transfers,
  transfers1,
  transfers200,
  transfersHotPayee,
  transfersHotPayer,
} from './transfers.js';
import { usersById, usersByIdCached } from './users-by-id.js';
import { v2DeepPage, v2FirstPage } from './v2-pages.js';

/** Every scenario `npm run bench` runs, in order; a new one is a file here and a line below. */
export const scenarios: Scenario[] = [
  usersById,
  usersByIdCached,
  logins,
  forgotPasswordKnown,
  forgotPasswordUnknown,
  transfers,
  orders,
  transfers1,
  orders1,
  transfers200,
  orders200,
  transfersHotPayer,
  transfersHotPayee,
  graphqlUsersPosts,
  v2FirstPage,
  v2DeepPage,
  postsSearch,
  overload,
];

export type { Baseline, LoadPlan, Scenario, ScenarioContext } from './scenario.js';
