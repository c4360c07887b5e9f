// How a user is shown: the same view in signup, GET /v1/me, the admin's pages and the verification answer.
import type { User } from "../../db";

export const publicUser = (u: User) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  emailVerified: u.emailVerifiedAt !== null,
  createdAt: u.createdAt,
});
