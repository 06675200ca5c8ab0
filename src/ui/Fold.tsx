// Long text folded to its first line, with a "More" button that unfolds it and "Less" that folds it back (the
// button's aria-expanded says which, aria-controls names the text). The button shows only when the text does not
// fit on one line; the whole text stays in the page either way (screen readers and aria-describedby read all of it).
import { type ReactNode, useId, useLayoutEffect, useRef, useState } from 'react';
import './fold.css';

export interface FoldProps {
  /** The text: inline content (words, <code>, <strong>…). */
  children: ReactNode;
  /** On the wrapper, e.g. 'muted'. */
  className?: string;
  /** The text element's id (for an aria-describedby elsewhere); one is made otherwise. */
  textId?: string;
  /** The text element's data-testid. */
  testId?: string;
}

export function Fold({ children, className, textId, testId }: FoldProps) {
  const madeId = useId();
  const id = textId ?? madeId;
  const text = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState(false);
  const [overflows, setOverflows] = useState(false);

  // Folded, the text is clamped to one line: it overflows when its full height is more. Measured again when the
  // text changes and when its width does (a narrower window wraps it onto more lines).
  useLayoutEffect(() => {
    const el = text.current!;
    const measure = () => {
      if (!el.classList.contains('fold-open')) setOverflows(el.scrollHeight > el.clientHeight + 1);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [children, open]);

  return (
    <div className={`fold${className ? ` ${className}` : ''}`}>
      <div id={id} ref={text} className={`fold-text${open ? ' fold-open' : ''}`} data-testid={testId}>
        {children}
      </div>
      {(open || overflows) && (
        <button type="button" className="fold-toggle link-button" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
          {open ? 'Less' : 'More'}
        </button>
      )}
    </div>
  );
}
