/**
 * OCPP 2.0.1 / 2.1 device model of an emulated charging station: its configuration keys seen as component
 * variables (2.0.1 Part 2 B05-B08: GetVariables, SetVariables, GetBaseReport, GetReport with NotifyReport).
 * A key is "Component.Variable", or a plain 1.6-style name reported under its usual component.
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import type { Connector } from '../station/connector.js';
import type { CommandHandler, CommandStation } from './types.js';
import { isoNow, ok } from './shared.js';

const h = new Map<string, CommandHandler>();

/** Component of a plain key name when reported (2.0.1 Part 2 Appendix, "Referenced Components and Variables"). */
const KEY_COMPONENT: Record<string, string> = {
  HeartbeatInterval: 'OCPPCommCtrlr',
  MeterValueSampleInterval: 'SampledDataCtrlr',
  MeterValuesSampledData: 'SampledDataCtrlr',
  AuthorizeRemoteTxRequests: 'AuthCtrlr',
  AuthorizationCacheEnabled: 'AuthCacheCtrlr',
  LocalAuthListEnabled: 'LocalAuthListCtrlr',
  ConnectionTimeOut: 'TxCtrlr',
  StopTransactionOnEVSideDisconnect: 'TxCtrlr',
  CentralSystemURL: 'OCPPCommCtrlr',
};
const KNOWN_COMPONENTS = new Set(['ChargingStation', 'OCPPCommCtrlr', 'SampledDataCtrlr', 'AlignedDataCtrlr', 'AuthCtrlr', 'AuthCacheCtrlr', 'LocalAuthListCtrlr', 'TxCtrlr', 'DeviceDataCtrlr', 'SecurityCtrlr', 'ReservationCtrlr', 'SmartChargingCtrlr', 'ClockCtrlr', 'EVSE', 'Connector']);

/** Splits a key into (component, variable): "Comp.Var" or a plain name with its usual component. */
function keyName(key: string): { component: string; variable: string } {
  const dot = key.indexOf('.');
  if (dot > 0) return { component: key.slice(0, dot), variable: key.slice(dot + 1) };
  return { component: KEY_COMPONENT[key] ?? 'ChargingStation', variable: key };
}

/** The key a (component, variable) pair names: "Comp.Var" first, else the plain variable name. */
function findKey(st: CommandStation, component: string, variable: string): string | undefined {
  const full = `${component}.${variable}`;
  if (st.spec.keys.has(full)) return full;
  if (st.spec.keys.has(variable)) return variable;
  return undefined;
}

function knownComponent(st: CommandStation, component: string): boolean {
  if (KNOWN_COMPONENTS.has(component)) return true;
  for (const [key] of st.keyEntries()) if (keyName(key).component === component) return true;
  return false;
}

function dataType(value: string): string {
  if (value === 'true' || value === 'false') return 'boolean';
  if (/^-?\d+$/.test(value)) return 'integer';
  if (/^-?\d+\.\d+$/.test(value)) return 'decimal';
  return 'string';
}

// B06 GetVariables
h.set('GetVariables', (st, p) => {
  const results = (p.getVariableData as Payload[]).map((d) => {
    const component = d.component as Payload;
    const variable = d.variable as Payload;
    const r: Payload = { attributeStatus: 'Accepted', component, variable };
    if (d.attributeType !== undefined) r.attributeType = d.attributeType;
    const key = findKey(st, component.name as string, variable.name as string);
    if (key === undefined) r.attributeStatus = knownComponent(st, component.name as string) ? 'UnknownVariable' : 'UnknownComponent';
    else if (d.attributeType !== undefined && d.attributeType !== 'Actual') r.attributeStatus = 'NotSupportedAttributeType';
    else r.attributeValue = st.key(key)!.slice(0, 2500);
    return r;
  });
  return ok({ getVariableResult: results });
});

// B05 SetVariables
h.set('SetVariables', (st, p) => {
  const results = (p.setVariableData as Payload[]).map((d) => {
    const component = d.component as Payload;
    const variable = d.variable as Payload;
    const r: Payload = { attributeStatus: 'Accepted', component, variable };
    if (d.attributeType !== undefined) r.attributeType = d.attributeType;
    const key = findKey(st, component.name as string, variable.name as string);
    const value = String(d.attributeValue);
    if (key === undefined) r.attributeStatus = knownComponent(st, component.name as string) ? 'UnknownVariable' : 'UnknownComponent';
    else if (d.attributeType !== undefined && d.attributeType !== 'Actual') r.attributeStatus = 'NotSupportedAttributeType';
    else if (st.spec.keys.get(key)!.readonly) r.attributeStatus = 'Rejected';
    else if (/Interval$/.test(key) && !/^\d+$/.test(value)) r.attributeStatus = 'Rejected';
    else {
      st.setKey(key, value);
      if (key === 'CentralSystemURL') r.attributeStatus = 'RebootRequired';
    }
    return r;
  });
  return ok({ setVariableResult: results });
});

type ReportEntry = Payload;

function reportEntries(st: CommandStation, base: 'ConfigurationInventory' | 'FullInventory' | 'SummaryInventory'): ReportEntry[] {
  const out: ReportEntry[] = [];
  if (base !== 'SummaryInventory') {
    for (const [key, e] of st.keyEntries()) {
      const { component, variable } = keyName(key);
      out.push({
        component: { name: component },
        variable: { name: variable },
        variableAttribute: [{ type: 'Actual', value: e.value.slice(0, 2500), mutability: e.readonly ? 'ReadOnly' : 'ReadWrite' }],
        variableCharacteristics: { dataType: dataType(e.value), supportsMonitoring: false },
      });
    }
  }
  if (base !== 'ConfigurationInventory') {
    for (const c of st.connectors) {
      out.push({
        component: { name: 'Connector', evse: { id: c.evseId, connectorId: c.connectorId } },
        variable: { name: 'AvailabilityState' },
        variableAttribute: [{ type: 'Actual', value: v2Availability(c), mutability: 'ReadOnly' }],
        variableCharacteristics: { dataType: 'OptionList', supportsMonitoring: false, valuesList: 'Available,Occupied,Reserved,Unavailable,Faulted' },
      });
    }
  }
  return out;
}

function v2Availability(c: Connector): string {
  return c.status === 'Available' || c.status === 'Reserved' || c.status === 'Unavailable' || c.status === 'Faulted' ? c.status : 'Occupied';
}

/** NotifyReport in pages of 50 (seqNo from 0, tbc on all but the last). */
function notifyReport(st: CommandStation, requestId: number, entries: ReportEntry[]): void {
  const page = 50;
  const generatedAt = isoNow();
  const pages = Math.max(1, Math.ceil(entries.length / page));
  for (let i = 0; i < pages; i++) {
    const p: Payload = { requestId, generatedAt, seqNo: i, tbc: i < pages - 1 };
    const slice = entries.slice(i * page, (i + 1) * page);
    if (slice.length > 0) p.reportData = slice;
    st.send('NotifyReport', p);
  }
}

// B07 GetBaseReport
h.set('GetBaseReport', (st, p) => {
  const entries = reportEntries(st, p.reportBase as 'ConfigurationInventory');
  return ok({ status: 'Accepted' }, () => notifyReport(st, p.requestId as number, entries));
});

// B08 GetReport: filtered by componentVariable (component name, optional variable name); criteria not modelled.
h.set('GetReport', (st, p) => {
  let entries = reportEntries(st, 'FullInventory');
  const wanted = p.componentVariable as Payload[] | undefined;
  if (wanted !== undefined) {
    entries = entries.filter((e) =>
      wanted.some((w) => {
        const wc = w.component as Payload;
        const wv = w.variable as Payload | undefined;
        return wc.name === (e.component as Payload).name && (wv === undefined || wv.name === (e.variable as Payload).name);
      }),
    );
  }
  if (entries.length === 0) return ok({ status: 'EmptyResultSet' });
  return ok({ status: 'Accepted' }, () => notifyReport(st, p.requestId as number, entries));
});

export const DEVICE_MODEL_HANDLERS: ReadonlyMap<string, CommandHandler> = h;
