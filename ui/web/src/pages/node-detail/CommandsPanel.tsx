// The Form itself rather than @rjsf/core's index, which also exports a test helper that imports
// @rjsf/validator-ajv8 (rjsf-team/react-jsonschema-form#5295): these forms use no Ajv (see csp-safe-validator.ts).
import Form from '@rjsf/core/lib/components/Form.js';
import type { ErrorListProps, RJSFSchema } from '@rjsf/utils';
import { useMemo, useState } from 'react';
import type { CommandInfo, DeviceType } from '../../api/types';
import { useAuth } from '../../auth/AuthProvider';
import { ResultView, runCommand, type CommandResult } from './command-result';
import { commandValidator } from './csp-safe-validator';
import { commandRole } from './util';

/**
 * The generated form's schema: the driver's JSON Schema as it is, except that
 * `rotate_secret` loses `new_secret` (the manager generates the secret and refuses one) and a
 * top-level `flow_id` gets the node's flow ids as suggestions.
 */
export function formSchema(command: CommandInfo, flowIds: string[]): RJSFSchema {
  const schema: RJSFSchema = structuredClone(command.params_schema && typeof command.params_schema === 'object' ? command.params_schema : { type: 'object' });
  if (command.name === 'rotate_secret' && schema.properties) {
    delete schema.properties.new_secret;
    if (Array.isArray(schema.required)) schema.required = schema.required.filter((r) => r !== 'new_secret');
  }
  const flowId = schema.properties?.flow_id;
  if (flowId && typeof flowId === 'object' && flowId.type === 'string' && !flowId.enum && !flowId.examples && flowIds.length > 0) {
    flowId.examples = flowIds;
  }
  return schema;
}

function hasParameters(schema: RJSFSchema): boolean {
  return (
    schema.type !== 'object' || Object.keys(schema.properties ?? {}).length > 0 || schema.additionalProperties === true || !!schema.oneOf || !!schema.anyOf
  );
}

/** rjsf's list of validation errors, announced and labelled. */
function ValidationErrors({ errors }: ErrorListProps) {
  return (
    <div className="error-box nd-form-errors" role="alert" aria-label="Validation errors" data-testid="validation-errors">
      <strong>Fix the parameters — nothing was sent:</strong>
      <ul>
        {errors.map((e, i) => (
          <li key={i}>{e.stack}</li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Every command of the node's driver, each with a form generated from its JSON Schema.
 * Commands the user's role cannot run are shown disabled with the reason; viewers get the
 * list only.
 */
export function CommandsPanel({
  nodeId,
  deviceType,
  flowIds,
  online,
  onCompleted
}: {
  nodeId: string;
  deviceType: DeviceType | null;
  flowIds: string[];
  online: boolean;
  onCompleted: (command: CommandInfo, result: CommandResult) => void;
}) {
  const { can, user } = useAuth();
  const commands = deviceType?.supported_commands ?? [];
  const [selected, setSelected] = useState<string>('');
  const [formData, setFormData] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<CommandResult | null>(null);

  const command = commands.find((c) => c.name === selected) ?? commands[0];
  // Stats (and with them a new flowIds array) arrive every second: the schema changes only when the ids do.
  const flowIdsKey = JSON.stringify(flowIds);
  const schema = useMemo(() => (command ? formSchema(command, JSON.parse(flowIdsKey) as string[]) : null), [command, flowIdsKey]);

  if (!deviceType) return null;

  if (!can('operator')) {
    return (
      <section className="panel" aria-labelledby="commands-heading">
        <h2 id="commands-heading">Commands</h2>
        <p className="nd-role-note" role="note">
          Running commands requires the operator role; you are signed in as a {user?.role ?? 'viewer'}.
        </p>
        {commands.length > 0 && (
          <details className="nd-details">
            <summary>The {commands.length} commands of this device type</summary>
            <div className="table-scroll">
              <table aria-label="Commands">
                <thead>
                  <tr>
                    <th scope="col">Command</th>
                    <th scope="col">What it does</th>
                    <th scope="col">Requires</th>
                  </tr>
                </thead>
                <tbody>
                  {commands.map((c) => (
                    <tr key={c.name}>
                      <td>
                        <code>{c.name}</code>
                      </td>
                      <td>{c.description}</td>
                      <td>{commandRole(c)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        )}
      </section>
    );
  }

  if (!command || !schema) {
    return (
      <section className="panel" aria-labelledby="commands-heading">
        <h2 id="commands-heading">Commands</h2>
        <p className="muted">The {deviceType.display_name} driver has no commands.</p>
      </section>
    );
  }

  const required = commandRole(command);
  const allowed = can(required);
  const timeoutSecs = command.timeout_ms ? Math.round(command.timeout_ms / 1000) : null;

  const submit = async (data: Record<string, unknown> | undefined) => {
    if (!allowed || busy) return;
    setBusy(true);
    setResult(null);
    const outcome = await runCommand(nodeId, command.name, data ?? {});
    setBusy(false);
    setResult(outcome);
    onCompleted(command, outcome);
  };

  return (
    <section className="panel" aria-labelledby="commands-heading">
      <h2 id="commands-heading">Commands</h2>
      <div className="nd-command-picker">
        <div className="nd-field">
          <label htmlFor="command-select">Command</label>
          <select
            id="command-select"
            value={command.name}
            onChange={(e) => {
              setSelected(e.target.value);
              setFormData({});
              setResult(null);
            }}
          >
            {commands.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
                {can(commandRole(c)) ? '' : ` (${commandRole(c)} only)`}
              </option>
            ))}
          </select>
        </div>
        <p className="nd-command-description" data-testid="command-description">
          {command.description}
        </p>
      </div>
      {!online && <p className="nd-role-note">The node is offline: commands fail until it reconnects.</p>}
      {!allowed && (
        <p className="nd-role-note" role="note" id="command-role-note" data-testid="command-role-note">
          Requires the {required} role — you are signed in as {user?.role === 'operator' ? 'an operator' : `a ${user?.role}`}.
        </p>
      )}
      <div className="nd-rjsf" role="group" aria-label={`Parameters of ${command.name}`} data-command={command.name}>
        <Form
          key={command.name}
          schema={schema}
          validator={commandValidator}
          formData={formData}
          disabled={!allowed || busy}
          idPrefix={`cmd_${command.name}`}
          noHtml5Validate
          showErrorList="top"
          focusOnFirstError
          templates={{ ErrorListTemplate: ValidationErrors }}
          onChange={(e) => setFormData((e.formData ?? {}) as Record<string, unknown>)}
          onSubmit={(e) => void submit(e.formData as Record<string, unknown> | undefined)}
        >
          {!hasParameters(schema) && <p className="muted">This command takes no parameters.</p>}
          <div className="row">
            <button type="submit" disabled={!allowed || busy} aria-describedby={!allowed ? 'command-role-note' : undefined}>
              {busy ? `Running ${command.name}…` : `Run ${command.name}`}
            </button>
            {busy && timeoutSecs && <span className="muted">Waiting for the node (up to {timeoutSecs} s)…</span>}
          </div>
        </Form>
      </div>
      <ResultView result={result} />
    </section>
  );
}
