import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import { UniqueViolationError } from '../../platform/db/errors.js';
import { ConflictError, NotFoundError } from '../../platform/http/errors.js';
import { offsetOf, type Page, type PageRequest } from '../../platform/http/pagination.js';
import type { User, UserChanges, UsersRepository } from './users.repository.js';
import type {
  CreateUserInput,
  PatchUserInput,
  ReplaceUserInput,
  UserSort,
} from './users.schemas.js';
import type { UserStatus } from '../../platform/db/schema.js';

export interface ListUsersInput extends PageRequest {
  sort: UserSort;
  status?: UserStatus;
}

function emailTaken(): ConflictError {
  return new ConflictError('A user with this email already exists', 'EMAIL_TAKEN');
}

async function mapConflicts<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof UniqueViolationError) throw emailTaken();
    throw err;
  }
}

/**
 * Business rules for users. Access rules arrive with the identity issue; every method already
 * takes the actor so REST, GraphQL and jobs share one entry point.
 */
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  async getUser(_actor: Actor, id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('User');
    return user;
  }

  async listUsers(_actor: Actor, input: ListUsersInput): Promise<Page<User>> {
    return this.users.list({ ...offsetOf(input), sort: input.sort, status: input.status });
  }

  async createUser(_actor: Actor, input: CreateUserInput): Promise<User> {
    return mapConflicts(
      this.users.create({
        id: uuidv7(),
        name: input.name,
        email: input.email,
        role: input.role ?? 'user',
        status: input.status ?? 'active',
      }),
    );
  }

  async replaceUser(actor: Actor, id: string, input: ReplaceUserInput): Promise<User> {
    return this.updateUser(actor, id, input);
  }

  async updateUser(
    _actor: Actor,
    id: string,
    changes: PatchUserInput | UserChanges,
  ): Promise<User> {
    const user = await mapConflicts(this.users.update(id, changes));
    if (!user) throw new NotFoundError('User');
    return user;
  }

  async deleteUser(_actor: Actor, id: string): Promise<void> {
    if (!(await this.users.delete(id))) throw new NotFoundError('User');
  }
}
