/**
 * One emulated charge point over OCPP-J (1.6, 2.0.1, 2.1) or OCPP-S (1.5, 1.6). This folder owns the station,
 * built as layers of one object, each layer one concern with its own private state, the lower ones knowing
 * nothing of the upper ones (they call abstract hooks that an upper layer implements):
 *  ./base.ts      identity, version, state, configuration keys (./keys.ts), delayed jobs;
 *  ./link.ts      the WebSocket or OCPP-S link, its states, connect and reconnect with backoff;
 *  ./rpc.ts       the station's own CALLs (the shared OutboundQueue: one in flight, FIFO, transaction
 *                 messages kept offline and replayed, retries) and what comes back;
 *  ./boot.ts      BootNotification, heartbeat, simulated reboot;
 *  ./charging.ts  statuses, sessions, meter values, transaction events, reservations;
 *  this file      the EmulatedStation: the scenario (./scenarios.ts), the central system's commands
 *                 (../commands/), and the wheel (`wake` runs every layer in order, `reschedule` asks each
 *                 when it next needs to run).
 * Layers rather than part objects because a fleet holds tens of thousands of stations: each part object
 * would cost about 40 bytes per station (header and back reference); one object costs nothing more than the
 * fields. Timers are not per station either: the station tells the fleet's TimerWheel when it next needs to
 * run. Queues and maps are created on first use, and stations made from one template share their key map
 * until one of them changes a key.
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import { RpcErrorCode } from '../../protocol/rpc-error-codes.js';
import { handlersFor, type CommandHandler, type CommandResult, type CommandStation } from '../commands/index.js';
import type { WheelClient } from '../wheel.js';
import type { Connector } from './connector.js';
import { StationCharging } from './charging.js';
import { planArrival, runScenario, scenarioBooted, scenarioDue, type ScheduleCursor } from './scenarios.js';

export { Connector, type Session, type SessionOptions } from './connector.js';
export type { StationContext } from './context.js';

export class EmulatedStation extends StationCharging implements WheelClient, CommandStation {
  /** Lazily created stores of the commands. */
  localList: { version: number; tags: Map<string, unknown> } | null = null;
  authCache: Map<string, unknown> | null = null;
  chargingProfiles: Map<number, { evseId: number; profile: Payload }> | null = null;
  /** Schedule scenarios only, from the first accepted boot. */
  #schedule: ScheduleCursor | null = null;

  // --- lifecycle ---

  /** Connects at `atMs` (now by default). */
  start(atMs = Date.now()): void {
    if (this.state === 'stopped') return;
    this.connectAt(atMs);
    this.reschedule();
  }

  /** Closes for good. */
  stop(): void {
    if (this.state === 'accepted' || this.state === 'resetting') this.ctx.stats.booted--;
    this.state = 'stopped';
    this.ctx.wheel.cancel(this);
    this.closeLink();
    this.emitState();
  }

  /** Sends `steps` one after another, `statusStepMs` apart (firmware, diagnostics and log uploads). */
  sendSteps(steps: Array<[action: string, payload: Payload]>): void {
    let at = Date.now();
    for (const [action, payload] of steps) {
      at += this.ctx.timings.statusStepMs;
      this.addJob(at, () => this.send(action, payload));
    }
  }

  // --- scenario hooks ---

  protected override booted(now: number): void {
    super.booted(now);
    this.#schedule = scenarioBooted(this, this.#schedule, now);
  }

  protected sessionEnded(c: Connector, now: number): void {
    planArrival(this, c, now);
  }

  // --- the central system's commands ---

  /**
   * A command of the central system (OCPP-J CALL or OCPP-S request): request validation, the handler of the
   * station's version, reply validation (an invalid reply becomes InternalError and is counted). The caller
   * writes the answer, then runs `after` of a reply.
   */
  handleCommand(action: string, payload: Payload): CommandResult {
    const stats = this.ctx.stats;
    stats.commandsReceived++;
    const version = this.spec.version;
    const validators = this.validators(action);
    let result: CommandResult;
    if (validators === undefined) {
      result = { error: RpcErrorCode.NotImplemented, description: `${action} is not an OCPP ${version} action` };
    } else if (validators.initiator === 'station') {
      result = { error: RpcErrorCode.NotSupported, description: `${action} is sent by the charging station, not to it` };
    } else {
      const check = validators.request(payload);
      if (!check.ok) {
        const issue = check.issues[0]!;
        result = { error: issue.code, description: issue.message };
      } else {
        const handler = this.#handlers()?.get(action);
        if (handler === undefined) result = { error: RpcErrorCode.NotSupported, description: `this emulated station does not support ${action}` };
        else {
          try {
            result = handler(this, payload);
          } catch (error) {
            result = { error: RpcErrorCode.InternalError, description: (error as Error).message };
          }
        }
      }
    }
    if ('error' in result) {
      stats.commandErrors++;
      if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'command', identity: this.identity, action, payload, reply: { error: result.error } });
      return result;
    }
    const reply = result.reply;
    if (this.ctx.validate && validators?.response !== undefined) {
      const check = validators.response(reply);
      if (!check.ok) {
        stats.invalidOutgoing++;
        this.ctx.warn(`${this.identity}: reply to ${action} is invalid: ${check.issues[0]?.message}`);
        return { error: RpcErrorCode.InternalError, description: `emulator built an invalid ${action} reply` };
      }
    }
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'command', identity: this.identity, action, payload, reply });
    return result;
  }

  /** The handlers of the station's version (1.5: loaded with the SOAP hub, as its validators). */
  #handlers(): ReadonlyMap<string, CommandHandler> | undefined {
    const v = this.spec.version;
    return v === 'ocpp1.5' ? this.ctx.soap?.handlers15() : handlersFor(v);
  }

  // --- the wheel ---

  wake(now: number): void {
    if (this.state === 'stopped') return;
    this.wakeLink(now);
    this.wakeBoot(now);
    this.expireCalls(now);
    this.runJobs(now);
    // Sessions and reservations run on while offline (their transaction messages queue up).
    if (this.state !== 'idle' && this.state !== 'resetting') this.wakeSessions(now);
    if (this.state === 'accepted') {
      runScenario(this, this.#schedule, now);
      this.wakeHeartbeat(now);
    }
    this.pumpCalls();
    this.wakeReset();
    this.reschedule();
  }

  protected reschedule(): void {
    if (this.state === 'stopped') return;
    let due = Math.min(this.reconnectDue, this.bootDue, this.callsDue, this.jobsDue);
    if (this.state !== 'idle' && this.state !== 'resetting') due = Math.min(due, this.sessionsDue);
    if (this.state === 'accepted') due = Math.min(due, scenarioDue(this, this.#schedule));
    if (due !== Infinity) this.ctx.wheel.schedule(this, due);
  }
}
