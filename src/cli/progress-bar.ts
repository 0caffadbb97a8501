/** A one-line progress bar redrawn in place; drawn only on a terminal so logs stay clean. */
export interface ProgressBar {
  update(done: number): void;
  finish(): void;
}

const WIDTH = 30;

export function progressBar(
  total: number,
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressBar {
  const draw = stream.isTTY === true;
  return {
    update(done) {
      if (!draw) return;
      const ratio = total === 0 ? 1 : Math.min(done / total, 1);
      const filled = Math.round(ratio * WIDTH);
      const bar = '#'.repeat(filled) + '.'.repeat(WIDTH - filled);
      const percent = `${Math.floor(ratio * 100)}`.padStart(3);
      stream.write(`\r${label} [${bar}] ${percent}% ${done}/${total}`);
    },
    finish() {
      // Clears the bar so the summary line that follows starts on a clean line.
      if (draw) stream.write('\r\x1b[2K');
    },
  };
}
