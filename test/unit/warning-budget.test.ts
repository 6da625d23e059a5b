/** WarningBudget: a few WARNINGs per window, the rest at debug, counted in the next WARNING. */
import { describe, expect, it } from 'vitest';
import { Logger } from '../../src/log/logger.js';
import { WarningBudget, WarningBudgets } from '../../src/log/warning-budget.js';

describe('WarningBudget', () => {
  it('logs `perWindow` WARNINGs a window, the rest at debug, and the next window\'s first WARNING counts them', () => {
    const lines: string[] = [];
    const log = new Logger({ level: 'debug', sink: { write: (line: string) => void lines.push(line) } });
    let now = 1000;
    const budget = new WarningBudget(log, 2, 10_000, () => now);
    for (let i = 0; i < 5; i++) budget.warning('script stderr', { n: i });
    now += 9_999;
    budget.warning('script stderr', { n: 5 });
    now += 1;
    budget.warning('script stderr', { n: 6 });
    budget.warning('script stderr', { n: 7 });
    const levels = lines.map((l) => (l.includes('WARNING') ? 'W' : l.includes('DEBUG') ? 'D' : '?'));
    expect(levels).toEqual(['W', 'W', 'D', 'D', 'D', 'D', 'W', 'W']);
    expect(lines[6]).toMatch(/n=6 similar_since_last_warning=4/);
    expect(lines[7]).not.toMatch(/similar_since_last_warning/);
  });
});

describe('WarningBudgets', () => {
  it('keeps a budget per kind, and forgets the kind first seen longest ago past maxKinds', () => {
    const lines: string[] = [];
    const log = new Logger({ level: 'debug', sink: { write: (line: string) => void lines.push(line) } });
    const budgets = new WarningBudgets(log, 1, 60_000, 2, () => 0);
    for (const kind of ['a', 'b', 'a', 'b', 'c', 'a', 'c']) budgets.warning(kind, `kind ${kind}`, {});
    // a and b warn once each; c makes room by forgetting a, which then warns afresh.
    expect(lines.map((l) => `${l.includes('WARNING') ? 'W' : 'D'} ${/kind (\w)/.exec(l)![1]}`)).toEqual(['W a', 'W b', 'D a', 'D b', 'W c', 'W a', 'D c']);
  });
});
