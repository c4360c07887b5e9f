// Delivery progression over HTTP: who may ship and deliver, in which status, the history it leaves, no
// cancel after shipping, and the seller's own view of its orders.
import { beforeAll, describe, expect, test } from "bun:test";
import { client, eventually } from "./client";
import { admin, stack } from "./harness";

let api: ReturnType<typeof client>;
let adminToken: string;
type User = Awaited<ReturnType<typeof api.user>>;
let sellerA: User, sellerB: User, shopper: User;

beforeAll(async () => {
  api = client((await stack()).edgeUrl);
  adminToken = await api.login(admin.email, admin.password);
  [sellerA, sellerB, shopper] = await Promise.all([api.user("seller"), api.user("seller"), api.user("shopper")]);
}, 60_000);

const place = async (items: { productId: string; quantity: number }[], paymentMethod = "card_ok") => {
  const r = await api.call("POST", "/v1/orders", { token: shopper.token, body: { items, paymentMethod } });
  expect(r.status).toBe(202);
  return r.body.orderId as string;
};
const statusOf = async (id: string) => (await api.call("GET", `/v1/orders/${id}`, { token: shopper.token })).body;
const reaches = (id: string, status: string) =>
  eventually(
    async () => {
      const o = await statusOf(id);
      return o.status === status ? o : undefined;
    },
    10_000,
    `${id} ${status}`,
  );

describe("ship and deliver", () => {
  test("the owning seller ships, an admin delivers; the history keeps every status", async () => {
    const p = await api.product(sellerA.token, 1000, 5);
    const id = await place([{ productId: p.id, quantity: 2 }]);
    await reaches(id, "CONFIRMED");

    const shipped = await api.call("POST", `/v1/orders/${id}/ship`, { token: sellerA.token });
    expect(shipped.status).toBe(202);
    expect(shipped.body).toEqual({ orderId: id, status: "CONFIRMED" });
    await reaches(id, "SHIPPED");

    const delivered = await api.call("POST", `/v1/orders/${id}/deliver`, { token: adminToken });
    expect(delivered.status).toBe(202);
    const o = await reaches(id, "DELIVERED");
    expect(o.history.map((h: { status: string }) => h.status)).toEqual([
      "PENDING",
      "CONFIRMED",
      "SHIPPED",
      "DELIVERED",
    ]);
    expect((await api.call("GET", `/v1/products/${p.id}`)).body.stock).toBe(3);
  });

  test("only sellers of the order's products or admins; others see no such order", async () => {
    const p = await api.product(sellerA.token, 1000, 5);
    const id = await place([{ productId: p.id, quantity: 1 }]);
    await reaches(id, "CONFIRMED");
    const asShopper = await api.call("POST", `/v1/orders/${id}/ship`, { token: shopper.token });
    expect(asShopper.status).toBe(403);
    expect(asShopper.body.code).toBe("FORBIDDEN");
    const otherSeller = await api.call("POST", `/v1/orders/${id}/ship`, { token: sellerB.token });
    expect(otherSeller.status).toBe(404);
    expect(otherSeller.body.code).toBe("NOT_FOUND");
    expect((await api.call("POST", `/v1/orders/${crypto.randomUUID()}/ship`, { token: adminToken })).status).toBe(404);
    expect((await api.call("POST", `/v1/orders/${id}/ship`)).status).toBe(401);
    expect((await statusOf(id)).status).toBe("CONFIRMED");
  });

  test("each step only from the status before it: 409 INVALID_TRANSITION, nothing changes", async () => {
    const p = await api.product(sellerA.token, 1000, 5);
    const pending = await place([{ productId: p.id, quantity: 1 }], "card_no_answer");
    const early = await api.call("POST", `/v1/orders/${pending}/ship`, { token: sellerA.token });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe("INVALID_TRANSITION");

    const id = await place([{ productId: p.id, quantity: 1 }]);
    await reaches(id, "CONFIRMED");
    const deliverFirst = await api.call("POST", `/v1/orders/${id}/deliver`, { token: sellerA.token });
    expect(deliverFirst.status).toBe(409);
    expect(deliverFirst.body.code).toBe("INVALID_TRANSITION");
    expect((await api.call("POST", `/v1/orders/${id}/ship`, { token: sellerA.token })).status).toBe(202);
    await reaches(id, "SHIPPED");
    const again = await api.call("POST", `/v1/orders/${id}/ship`, { token: sellerA.token });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("INVALID_TRANSITION");

    const declined = await place([{ productId: p.id, quantity: 1 }], "card_declined");
    await reaches(declined, "CANCELLED");
    expect((await api.call("POST", `/v1/orders/${declined}/ship`, { token: sellerA.token })).body.code).toBe(
      "INVALID_TRANSITION",
    );
  });

  test("a shipped order cannot be cancelled, wholly or by item", async () => {
    const p = await api.product(sellerA.token, 1000, 5);
    const id = await place([{ productId: p.id, quantity: 1 }]);
    const o = await reaches(id, "CONFIRMED");
    await api.call("POST", `/v1/orders/${id}/ship`, { token: sellerA.token });
    await reaches(id, "SHIPPED");
    for (const path of [`/v1/orders/${id}/cancel`, `/v1/orders/${id}/items/${o.items[0].id}/cancel`]) {
      const r = await api.call("POST", path, { token: shopper.token });
      expect(r.status).toBe(409);
      expect(r.body.code).toBe("NOT_CANCELLABLE");
    }
    await Bun.sleep(300);
    expect((await statusOf(id)).status).toBe("SHIPPED");
    expect((await api.call("GET", `/v1/products/${p.id}`)).body.stock).toBe(4);
  });
});

describe("GET /v1/seller/orders", () => {
  test("a seller sees the orders holding its products, with only its own items, newest first and paginated", async () => {
    const seller = await api.user("seller");
    const other = await api.user("seller");
    const mine = await api.product(seller.token, 700, 50);
    const theirs = await api.product(other.token, 900, 50);
    const mixed = await place([
      { productId: mine.id, quantity: 1 },
      { productId: theirs.id, quantity: 2 },
    ]);
    const onlyTheirs = await place([{ productId: theirs.id, quantity: 1 }]);
    const second = await place([{ productId: mine.id, quantity: 3 }]);
    const third = await place([{ productId: mine.id, quantity: 1 }], "card_declined");
    await Promise.all([
      reaches(mixed, "CONFIRMED"),
      reaches(onlyTheirs, "CONFIRMED"),
      reaches(second, "CONFIRMED"),
      reaches(third, "CANCELLED"),
    ]);

    const first = await api.call("GET", "/v1/seller/orders?limit=2", { token: seller.token });
    expect(first.status).toBe(200);
    expect(first.body.items.map((o: { id: string }) => o.id)).toEqual([third, second]);
    expect(first.body.nextCursor).toBe(second);
    const next = await api.call("GET", `/v1/seller/orders?limit=2&cursor=${first.body.nextCursor}`, {
      token: seller.token,
    });
    expect(next.body.items.map((o: { id: string }) => o.id)).toEqual([mixed]);
    expect(next.body.nextCursor).toBeNull();
    const m = next.body.items[0];
    expect(m.items).toEqual([
      { id: expect.any(String), productId: mine.id, quantity: 1, price: 700, status: "ACTIVE" },
    ]);
    expect(m.status).toBe("CONFIRMED");
    expect(m.history.map((h: { status: string }) => h.status)).toEqual(["PENDING", "CONFIRMED"]);

    const toShip = await api.call("GET", "/v1/seller/orders?status=CONFIRMED", { token: seller.token });
    expect(toShip.body.items.map((o: { id: string }) => o.id)).toEqual([second, mixed]);
    const theirView = await api.call("GET", "/v1/seller/orders", { token: other.token });
    expect(theirView.body.items.map((o: { id: string }) => o.id)).toEqual([onlyTheirs, mixed]);
    expect(theirView.body.items[1].items.map((i: { productId: string }) => i.productId)).toEqual([theirs.id]);

    expect((await api.call("GET", "/v1/seller/orders", { token: shopper.token })).status).toBe(403);
    const bad = await api.call("GET", "/v1/seller/orders?status=LOST", { token: seller.token });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("VALIDATION_FAILED");
  });
});
