/** What each report says in the event log: pure text, one or more lines a report. */
import { exitNote, exitReason } from '../experiment/exit-reason';
import { recordsText, WORKLOAD_HELP } from '../experiment/options';
import type { Report } from '../experiment/protocol';
import { STRATEGY_HELP, type StrategyName } from '../experiment/strategy';
import { formatCount, formatSeconds } from '../format/units';

/** One line of the event log. */
export interface UiEvent {
  t: number; // ms since start
  kind: 'fork' | 'exit' | 'collect' | 'freeze' | 'workload' | 'log' | 'error' | 'info';
  text: string;
}

type Line = [UiEvent['kind'], string];

/** What to expect from the workload, said where the user is looking when it starts. */
function explainWorkload(w: string): Line[] {
  const text = (WORKLOAD_HELP as Record<string, string>)[w];
  return text ? [['workload', `${w}: ${text}`]] : [];
}

function explainStrategy(spec: string): Line[] {
  const name = spec.split(':')[0] as StrategyName;
  return name !== 'default' && name !== 'freeze' && STRATEGY_HELP[name]
    ? [['workload', `gc ${spec}: ${STRATEGY_HELP[name]}`]]
    : [];
}

const workers = (n: number): string => `${n} worker${n === 1 ? '' : 's'}`;

export function reportEvents(r: Report): Line[] {
  switch (r.type) {
    case 'ready':
      return [
        [
          'info',
          `${r.implementation} ${r.version}: built ${recordsText(r.size)} in ${formatSeconds(r.buildSeconds)}${r.importSeconds !== undefined ? `, after ${formatSeconds(r.importSeconds)} of imports` : ''}${r.freezeSupported ? '' : ' (no gc.freeze in this interpreter)'}`,
        ],
        ...explainWorkload(r.workload),
        ...explainStrategy(r.gc),
      ];
    case 'asked':
      return r.cmd === 'collect' ? [['info', `gc.collect() asked of ${workers(r.pids.length)}`]] : [];
    case 'fork':
      return [
        [
          'fork',
          r.workload === 'attached'
            ? `new process pid ${r.pid}`
            : `fork worker ${r.index + 1} pid ${r.pid}${r.freeze ? ' (frozen)' : ''}, workload ${r.workload}`,
        ],
      ];
    case 'exit':
      return [[r.requested ? 'exit' : 'error', `exit pid ${r.pid}: ${exitReason(r) ?? 'gone'}${exitNote(r)}`]];
    case 'collection': {
      // Young collections happen many times a second under load: the table counts them; the
      // log names the full ones and every collection someone asked for.
      if (r.generation !== 2 && !r.explicit) return [];
      // An agent may know only that a collection happened: say what is known, no "-, -".
      const known = [
        r.duration !== null ? formatSeconds(r.duration) : null,
        r.collected !== null ? `${formatCount(r.collected)} collected` : null,
      ].filter(Boolean);
      return [
        [
          'collect',
          `gc gen ${r.generation} pid ${r.pid}${known.length ? `: ${known.join(', ')}` : ''}${r.explicit ? ' (asked)' : ''}`,
        ],
      ];
    }
    case 'refork':
      return [
        [
          'freeze',
          `re-forked ${r.workers.length} workers ${r.split ? 'SPLIT: half before gc.freeze(), half after' : r.freeze ? 'WITH gc.freeze()' : r.gc === 'default' ? 'without freeze' : `with gc strategy ${r.gc}`}, workload ${r.workload}, in ${formatSeconds(r.seconds)}`,
        ],
        ...explainWorkload(r.workload),
        ...explainStrategy(r.gc),
      ];
    case 'enabled':
      return [
        [
          'freeze',
          `pid ${r.pid}: gc.enable() after ${formatSeconds(r.after)} with the gc disabled (the enabler), ${formatCount(r.served)} requests served: collections start now`,
        ],
      ];
    case 'interval':
      return [['info', `the experiment now reports gc every ${formatSeconds(r.ms / 1000)}`]];
    case 'scale':
      return [['info', workers(r.workers.length)]];
    case 'error':
      return [['error', r.message]];
    default:
      return [];
  }
}
