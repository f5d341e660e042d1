// Ticks for a time axis of UTC days: a few "nice" dates for the range (days, months or years).

export const DAY_MS = 86_400_000;

/** An ISO day ("2026-03-05") as a whole number of days since 1970-01-01 (UTC). */
export function dayNumber(iso) {
  return Math.round(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);
}

/** A day number as an ISO day ("2026-03-05"). */
export function isoDay(day) {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

const UTC = { timeZone: "UTC" };
const DAY = new Intl.DateTimeFormat("en-US", { ...UTC, month: "short", day: "numeric" });
const DAY_YEAR = new Intl.DateTimeFormat("en-US", { ...UTC, month: "short", day: "numeric", year: "numeric" });
const MONTH = new Intl.DateTimeFormat("en-US", { ...UTC, month: "short", year: "numeric" });

/** A day as people read it: "Mar 5, 2026". */
export function formatDay(day) {
  return DAY_YEAR.format(new Date(day * DAY_MS));
}

// Tick spacings, finest first. Approximate lengths in days only rule out spacings that would
// give far too many ticks before any is generated.
const STEPS = [
  ["day", 1], ["day", 2], ["day", 7], ["day", 14],
  ["month", 1], ["month", 2], ["month", 3], ["month", 6],
  ["year", 1], ["year", 2], ["year", 5], ["year", 10], ["year", 25], ["year", 50], ["year", 100],
];
const UNIT_DAYS = { day: 1, month: 30.44, year: 365.25 };
const MAX_TICKS = 60;

/** The days in [first, last] every ``n`` units: weeks start on Mondays, months on the 1st. */
function ticksEvery(first, last, unit, n) {
  const days = [];
  if (unit === "day") {
    // 1970-01-05 (day 4) was a Monday: multi-day steps line up with weeks.
    for (let day = first + ((((4 - first) % n) + n) % n); day <= last; day += n) days.push(day);
    return days;
  }
  const start = new Date(first * DAY_MS);
  const perUnit = unit === "year" ? 12 : 1;
  let month = start.getUTCFullYear() * 12 + (unit === "year" ? 0 : start.getUTCMonth());
  for (; ; month += perUnit) {
    const day = Date.UTC(Math.floor(month / 12), month % 12, 1) / DAY_MS;
    if (day > last) return days;
    if (day >= first && (month / perUnit) % n === 0) days.push(day);
  }
}

function label(day, unit, previous) {
  const date = new Date(day * DAY_MS);
  if (unit === "year") return String(date.getUTCFullYear());
  if (unit === "month") return MONTH.format(date);
  // Day ticks name the year on the first tick and where it changes.
  const sameYear = previous !== undefined
    && new Date(previous * DAY_MS).getUTCFullYear() === date.getUTCFullYear();
  return (sameYear ? DAY : DAY_YEAR).format(date);
}

/**
 * Ticks for days ``first`` … ``last``: the finest spacing whose labels ``fit`` accepts.
 *
 * ``fit(ticks)`` gets [{day, text}] and returns its placed labels, or null when they would
 * overlap; the first placement accepted is returned.
 */
export function timeTicks(first, last, fit) {
  for (const [unit, n] of STEPS) {
    if ((last - first) / (n * UNIT_DAYS[unit]) > MAX_TICKS) continue;
    const days = ticksEvery(first, last, unit, n);
    if (!days.length) continue;
    const placed = fit(days.map((day, i) => ({ day, text: label(day, unit, days[i - 1]) })));
    if (placed) return placed;
  }
  return fit([{ day: first, text: label(first, "day") }]) || [];
}
