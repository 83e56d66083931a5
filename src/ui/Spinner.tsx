/**
 * A one-line spinner. The frame timer lives in an effect and is cleared on unmount, so an unmounted
 * spinner never keeps the process alive.
 */
import { Text } from 'ink';
import { useEffect, useState } from 'react';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface SpinnerProps {
  label: string;
  /** Frame period; 0 freezes the spinner (tests, screen readers). */
  intervalMs?: number;
}

export function Spinner({ label, intervalMs = 80 }: SpinnerProps) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    if (intervalMs <= 0) return undefined;
    const timer = setInterval(() => setFrame((f) => (f + 1) % FRAMES.length), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return (
    <Text>
      <Text color="cyan">{FRAMES[frame]}</Text> {label}
    </Text>
  );
}
