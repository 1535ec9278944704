/**
 * The experiment dashboard's first frame, drawn before blessed is loaded: loading it and reading
 * the terminfo takes ~150 ms of a small machine's start (issue 14: the first frame within
 * 300 ms of exec). The alternate screen with the header line the dashboard draws until the heap
 * is built; blessed takes the screen over from it and gives it back on every way out.
 */
export const STARTING = 'starting the experiment: building the heap...';

const ENTER = '\x1b[?1049h\x1b[H\x1b[2J\x1b[?25l'; // alternate screen, home, clear, cursor hidden
const LEAVE = '\x1b[?25h\x1b[?1049l';

export interface Splash {
  /** blessed has the screen now: it restores the terminal itself. */
  handedOver(): void;
  /** Gives the terminal back, unless blessed took it over (a start that failed before it did). */
  restore(): void;
}

/**
 * Terminals whose terminfo switches to the alternate screen (smcup), as blessed will: the splash
 * must not enter a screen blessed never leaves (TERM=linux has none). Others get no splash.
 */
const ALTERNATE_SCREEN = /^(xterm|screen|tmux|rxvt|alacritty|kitty|foot|wezterm|konsole|gnome|vte|st-|putty)/;

export function splash(out: { write(s: string): unknown }, term: string | undefined): Splash | null {
  if (!term || !ALTERNATE_SCREEN.test(term)) return null;
  out.write(`${ENTER}\x1b[1mcowtop\x1b[22m  ${STARTING}  up 0s`);
  let mine = true;
  return {
    handedOver: () => {
      mine = false;
    },
    restore: () => {
      if (mine) out.write(LEAVE);
      mine = false;
    },
  };
}
