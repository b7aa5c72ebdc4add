import { describe, expect, it } from 'vitest';
import { CollapseDetector } from './collapse.js';

describe('CollapseDetector', () => {
  it('stops when D wins outright while G loss rises for `patience` iterations', () => {
    const detector = new CollapseDetector(10);
    let reason: string | null = null;
    for (let i = 0; i < 10 && !reason; i++) reason = detector.observe(1, 2 + i);
    expect(reason).toMatch(/collapsed: D accuracy >= 0.99 for 10 iterations while G loss rose/);
  });

  it('goes on while D is fooled sometimes, or G loss falls, or patience is 0', () => {
    const fooled = new CollapseDetector(5);
    const falling = new CollapseDetector(5);
    const off = new CollapseDetector(0);
    for (let i = 0; i < 50; i++) {
      expect(fooled.observe(i % 3 === 0 ? 0.9 : 1, 2 + i)).toBeNull();
      expect(falling.observe(1, 10 - i * 0.1)).toBeNull();
      expect(off.observe(1, 2 + i)).toBeNull();
    }
  });

  it('resumes from its saved state with the same decisions', () => {
    const a = new CollapseDetector(20);
    for (let i = 0; i < 12; i++) a.observe(1, 1 + i * 0.1);
    const b = new CollapseDetector(20, JSON.parse(JSON.stringify(a.state())));
    for (let i = 12; i < 30; i++) expect(b.observe(1, 1 + i * 0.1)).toBe(a.observe(1, 1 + i * 0.1));
  });
});
