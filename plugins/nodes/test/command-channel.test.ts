import { NO_SECRETS, REDACTED } from '@bilbycast/driver-sdk';
import { CommandDeliveryError } from '../src/services/command-errors';
import { CommandChannel } from '../src/services/command-channel';
import type { ProtocolCounters } from '../src/services/node-session';

function channel() {
  const sent: { payload: { command_id: string; action: { type: string } } }[] = [];
  const counters: ProtocolCounters = {
    messages: 0,
    malformed: 0,
    unknown_types: 0,
    oversize: 0,
    binary: 0,
    late_acks: 0,
    events_dropped: 0,
    budget_dropped: 0
  };
  const commands = new CommandChannel({ send: (frame: string) => sent.push(JSON.parse(frame)) }, ['**.passphrase'], counters);
  commands.open();
  return { commands, sent, counters, idOf: (type: string) => sent.find((f) => f.payload.action.type === type)!.payload.command_id };
}

describe('CommandChannel', () => {
  test('commands and get_config wait in one place: each is answered only by its own kind, and a disconnect fails both', async () => {
    const { commands, counters, idOf } = channel();
    const started = commands.command({ type: 'start_flow' }, 5000, false);
    const config = commands.fetchConfig(5000);
    const stopped = commands.command({ type: 'stop_flow' }, 5000, false);
    // A gateway acks get_config before its config_response: expected, not late.
    commands.onCommandAck({ command_id: idOf('get_config'), success: true });
    commands.onCommandAck({ command_id: 'unknown', success: true });
    expect(counters.late_acks).toBe(1);
    commands.onConfigResponse({ flows: [] });
    await expect(config).resolves.toEqual({ flows: [] });
    commands.onCommandAck({ command_id: idOf('start_flow'), success: true });
    await expect(started).resolves.toEqual({ command_id: idOf('start_flow'), success: true });
    // Nothing asked for a config any more.
    commands.onConfigResponse({ flows: [] });
    expect(counters.late_acks).toBe(2);
    expect(commands.awaitingAnswer).toBe(true);
    commands.failAll('gone');
    await expect(stopped).rejects.toEqual(new CommandDeliveryError('node_offline', 'gone'));
    expect(commands.awaitingAnswer).toBe(false);
  });

  test('a mutating command’s success makes the cached config stale at once, even with a config_response right behind its ack', async () => {
    const { commands, idOf, sent } = channel();
    const first = commands.fetchConfig(5000);
    commands.onConfigResponse({ srt: { passphrase: 'old secret' } });
    await first;
    expect(commands.config?.value).toEqual({ srt: { passphrase: REDACTED } });
    const update = commands.command({ type: 'update_config' }, 5000, true);
    const second = commands.fetchConfig(5000);
    // Both answers in one tick, as ws delivers the frames of one TCP segment.
    commands.onCommandAck({ command_id: idOf('update_config'), success: true });
    expect(commands.secrets).toBe(NO_SECRETS);
    commands.onConfigResponse({ srt: { passphrase: 'new secret' } });
    await Promise.all([update, second]);
    expect(commands.config?.value).toEqual({ srt: { passphrase: REDACTED } });
    expect(commands.secrets).not.toBe(NO_SECRETS);
    expect(sent).toHaveLength(3);
  });

  test('a config_response to a get_config sent before a mutating command that has since succeeded is answered, not cached', async () => {
    const { commands, idOf } = channel();
    const config = commands.fetchConfig(5000);
    const update = commands.command({ type: 'update_config' }, 5000, true);
    // The device applies the update and acks it before the config it read earlier arrives.
    commands.onCommandAck({ command_id: idOf('update_config'), success: true });
    await update;
    commands.onConfigResponse({ srt: { passphrase: 'before the update' } });
    await expect(config).resolves.toEqual({ srt: { passphrase: REDACTED } });
    expect(commands.config).toBeUndefined();
    expect(commands.secrets).toBe(NO_SECRETS);
    // A get_config sent after it is current again.
    const fresh = commands.fetchConfig(5000);
    commands.onConfigResponse({ srt: { passphrase: 'after the update' } });
    await fresh;
    expect(commands.config?.value).toEqual({ srt: { passphrase: REDACTED } });
    expect(commands.secrets).not.toBe(NO_SECRETS);
  });
});
