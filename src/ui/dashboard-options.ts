/** What only the dashboard does: record itself, where the export key writes, a tour to run. */
import type { TourStep } from './tour';

export interface DashboardOptions {
  record: string | null;
  exportFile: string | null;
  map?: boolean; // --map: open the map pane at start
  ascii?: boolean; // --ascii: draw with ASCII only, whatever the locale says
  intervalGiven?: boolean; // --interval on the command line: it wins over the settings file
  tour?: { steps: TourStep[]; speed: number }; // cowtop demo
}
