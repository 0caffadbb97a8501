/** The users module's domain types: what its service and repository share, free of HTTP. */

/** The orders a user list may take, `-` for descending. */
export const USER_SORTS = ['createdAt', '-createdAt', 'name', '-name', 'email', '-email'] as const;

export type UserSort = (typeof USER_SORTS)[number];
