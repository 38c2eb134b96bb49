import { paint, type Style } from './format.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Plain (non-terminal) output repeats an unchanged state this often, so a log shows the task is alive. */
const PLAIN_REPEAT_MS = 5_000;

/**
 * The live display of `--async`: on a terminal one spinner line redrawn in place; otherwise (a pipe, a
 * CI log) a plain line per change of state. Always on stderr, so `--json` output stays clean.
 */
export class Progress {
  private readonly started = Date.now();
  private readonly tty: boolean;
  private state = '';
  private lastLine = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
    private readonly style: Style,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.tty = Boolean(stream.isTTY) && env.TERM !== 'dumb';
  }

  private elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)}s`;
  }

  private render(): void {
    const spinner = paint(this.style, 'yellow', FRAMES[this.frame++ % FRAMES.length]!);
    this.stream.write(`\r\x1b[2K${spinner} ${this.label}: ${this.state} ${paint(this.style, 'gray', this.elapsed())}`);
  }

  /** The task's state as last seen (`submitted`, `processing`, ...). */
  update(state: string): void {
    const changed = state !== this.state;
    this.state = state;
    if (this.tty) {
      this.timer ??= setInterval(() => this.render(), 80);
      this.render();
      return;
    }
    if (changed || Date.now() - this.lastLine >= PLAIN_REPEAT_MS) {
      this.lastLine = Date.now();
      this.stream.write(`[${this.elapsed()}] ${this.label}: ${state}\n`);
    }
  }

  /** Ends the display with a final line. */
  done(line: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.stream.write(`\r\x1b[2K${line} ${paint(this.style, 'gray', this.elapsed())}\n`);
    else this.stream.write(`[${this.elapsed()}] ${this.label}: ${line}\n`);
  }
}
