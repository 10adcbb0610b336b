/** Rendering of a located flow-syntax problem, shared by `flow check` and `dpctl`. */

export interface LocatedFlowError {
  message: string;
  column: number;
  token: string;
  source: 'flow' | 'actions';
}

/** `flow:COL: error: MESSAGE`, the text, and a caret line under the token. */
export function renderFlowError(e: LocatedFlowError, flowText: string, actionsText: string): string {
  const text = e.source === 'actions' ? actionsText : flowText;
  const caretLen = Math.max(1, Math.min(e.token.length, Math.max(1, text.length - e.column + 1)));
  return `${e.source}:${e.column}: error: ${e.message}\n  ${text}\n  ${' '.repeat(Math.max(0, e.column - 1))}${'^'.repeat(caretLen)}\n`;
}
