import { Joi, defaultDeriveHealth, defaultEventSeverity, defineDriver, describeDriverProblem, type HealthInput } from '../src';

const base = { device_type: 'widget', display_name: 'Widget', commands: [] };
const input = (partial: Partial<HealthInput>): HealthInput => ({ health: { status: 'ok' }, stats: null, active_alarms: [], ...partial });

describe('driver hooks', () => {
  it('accepts a driver with every optional hook', () => {
    const driver = defineDriver({
      ...base,
      commands: [{ name: 'reboot', description: 'Reboot', requires_role: 'admin', params: Joi.object({}), timeout_ms: 5000, mutates: true }],
      summarize: () => ({ metrics: { fans: 2 } }),
      deriveHealth: () => 'healthy',
      mapEventSeverity: () => 'info',
      ui_sections: ['flows', 'alarms'],
      ai_protocol: 'Widgets answer reboot.',
      topology: { icon: 'widget', color: '#aa00ff' }
    });
    expect(describeDriverProblem(driver)).toBeNull();
  });

  it.each([
    [{ ui_sections: ['flows', 'gallery'] }, /ui_sections\[1\]/],
    [{ ui_sections: ['flows', 'flows'] }, /duplicate/],
    [{ topology: { icon: 'x', color: 'purple' } }, /color/],
    [{ summarize: 'not a function' }, /summarize/],
    [{ deriveHealth: (a: unknown, b: unknown) => [a, b] }, /deriveHealth/]
  ])('refuses %p', (extra, reason) => {
    expect(describeDriverProblem({ ...base, ...extra })).toMatch(reason);
  });
});

describe('defaultEventSeverity', () => {
  it.each([
    ['critical', 'critical'],
    ['MAJOR', 'critical'],
    ['error', 'critical'],
    ['warning', 'warning'],
    ['minor', 'warning'],
    ['degraded', 'warning'],
    ['something-new', 'info'],
    ['info', 'info'],
    ['Cleared', 'info'],
    ['notice', 'info']
  ])('%s -> %s', (raw, expected) => {
    expect(defaultEventSeverity(raw)).toBe(expected);
  });
});

describe('defaultDeriveHealth', () => {
  it('is healthy with an ok status and no alarms', () => {
    expect(defaultDeriveHealth(input({}))).toBe('healthy');
  });
  it('is critical with a critical alarm or a critical status', () => {
    expect(defaultDeriveHealth(input({ active_alarms: [{ severity: 'critical', raw_severity: 'major', category: 'x' }] }))).toBe('critical');
    expect(defaultDeriveHealth(input({ health: { status: 'critical' } }))).toBe('critical');
  });
  it('is warning with a warning alarm or any other status', () => {
    expect(defaultDeriveHealth(input({ active_alarms: [{ severity: 'warning', raw_severity: 'minor', category: 'x' }] }))).toBe('warning');
    expect(defaultDeriveHealth(input({ health: { status: 'degraded' } }))).toBe('warning');
  });
  it('is healthy when no health has arrived yet and nothing is alarmed', () => {
    expect(defaultDeriveHealth(input({ health: null }))).toBe('healthy');
  });
});
