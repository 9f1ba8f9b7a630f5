import Joi from 'joi';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/**
 * `Joi.date().iso()` that also refuses a day the month does not have (`2026-02-30`), which
 * JavaScript would otherwise roll over into the next month.
 */
export function isoDate(): Joi.DateSchema {
  return Joi.date()
    .iso()
    .custom((value: Date, helpers) => {
      const original: unknown = helpers.original;
      // The forms joi accepts and Date can read: [±YY]YYYY[-MM[-DD]][T…].
      const match = typeof original === 'string' ? /^([+-]\d{2})?(\d{4})-(\d{2})-(\d{2})/.exec(original) : null;
      if (!match) return value;
      const year = Number(`${match[1] ?? ''}${match[2]}`);
      return Number(match[4]) <= daysInMonth(year, Number(match[3])) ? value : helpers.error('date.calendar');
    })
    .messages({ 'date.calendar': '{{#label}} must be a real calendar date' });
}
