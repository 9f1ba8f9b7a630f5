import Joi from 'joi';
import { isoDate } from '../src';

describe('isoDate', () => {
  const check = (value: unknown) => isoDate().validate(value);

  it.each([
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2026-02-28', '2026-02-28T00:00:00.000Z'],
    ['2026-12-31', '2026-12-31T00:00:00.000Z'],
    ['2026-04-30T10:00:00Z', '2026-04-30T10:00:00.000Z'],
    ['2026-03-01T23:00:00-05:00', '2026-03-02T04:00:00.000Z'],
    ['2000-02-29T12:30:00.250+02:00', '2000-02-29T10:30:00.250Z'],
    ['2026-02', '2026-02-01T00:00:00.000Z']
  ])('accepts %s', (input, iso) => {
    const { value, error } = check(input);
    expect(error).toBeUndefined();
    expect((value as Date).toISOString()).toBe(iso);
  });

  it('accepts a Date', () => {
    const date = new Date('2026-02-28T00:00:00Z');
    expect(check(date)).toEqual({ value: date });
  });

  it.each(['2026-02-30', '2025-02-29', '1900-02-29', '2026-04-31', '2026-06-31T00:00:00Z', '2026-11-31T23:00:00-05:00'])(
    'refuses the impossible date %s',
    (input) => {
      expect(check(input).error?.details).toEqual([expect.objectContaining({ type: 'date.calendar', message: '"value" must be a real calendar date' })]);
    }
  );

  it('names the field and still refuses non-ISO text', () => {
    const schema = Joi.object({ from: isoDate() });
    expect(schema.validate({ from: '2026-02-30' }).error?.message).toBe('"from" must be a real calendar date');
    expect(schema.validate({ from: 'yesterday' }).error?.details[0]?.type).toBe('date.format');
  });
});
