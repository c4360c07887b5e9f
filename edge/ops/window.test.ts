import { describe, expect, test } from "bun:test";
import { answersWindow, perSecond, timeToSellOut } from "./window";

describe("answersWindow", () => {
  test("sums the processes' ticks per second and status, places them in the window, drops what is older", () => {
    const w = answersWindow(5);
    w.add(100, { "202": 3, "409": 10 });
    w.add(100, { "202": 2 }); // a second edge, same second
    w.add(102, { "409": 7, "429": 1 });
    expect(w.series(103)).toEqual({
      from: 98,
      statuses: { "202": [0, 0, 5, 0, 0], "409": [0, 0, 10, 0, 7], "429": [0, 0, 0, 0, 1] },
    });
    // the second in progress is left out until it is over
    w.add(103, { "202": 1 });
    expect(w.series(103).statuses["202"]).toEqual([0, 0, 5, 0, 0]);
    w.add(110, { "200": 1 });
    expect(w.series(111)).toEqual({ from: 106, statuses: { "200": [0, 0, 0, 0, 1] } });
  });
});

describe("perSecond", () => {
  test("the pace between two readings; nothing for a first reading, a clock going back or a rebuilt gate", () => {
    expect(perSecond({ at: 1000, admitted: 10 }, 1500, 60)).toBe(100);
    expect(perSecond(undefined, 1500, 60)).toBe(0);
    expect(perSecond({ at: 1500, admitted: 10 }, 1500, 60)).toBe(0);
    expect(perSecond({ at: 1000, admitted: 60 }, 2000, 5)).toBe(0);
  });
});

describe("timeToSellOut", () => {
  const startsAt = 1_000_000;
  test("taken: from the start to the gate's sold-out time", () => {
    expect(timeToSellOut({ startsAt, remaining: 0, soldOutAt: startsAt + 270, pace: 0, now: startsAt + 5000 })).toEqual(
      { seconds: 0.27, estimated: false },
    );
  });
  test("estimated from the pace while units remain; none before the start or without a pace", () => {
    expect(timeToSellOut({ startsAt, remaining: 100, pace: 50, now: startsAt + 3000 })).toEqual({
      seconds: 5,
      estimated: true,
    });
    expect(timeToSellOut({ startsAt, remaining: 100, pace: 0, now: startsAt + 3000 })).toBeNull();
    expect(timeToSellOut({ startsAt, remaining: 100, pace: 50, now: startsAt - 1 })).toBeNull();
    // sold out once, then units came back: no longer sold out, the estimate speaks again
    expect(timeToSellOut({ startsAt, remaining: 4, soldOutAt: startsAt + 270, pace: 2, now: startsAt + 3000 })).toEqual(
      { seconds: 5, estimated: true },
    );
  });
});
