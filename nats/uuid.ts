// UUIDv7: time-ordered ids, so primary keys stay append-mostly and sort by creation.
export function uuidv7(): string {
  return Bun.randomUUIDv7();
}
