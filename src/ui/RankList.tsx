// A rankable list of completions, best at the top (human feedback with K > 2, InstructGPT's "rank K"). Three ways to
// reorder, all with the same effect: drag an item onto another item's place (HTML5 drag and drop), press
// Alt+ArrowUp / Alt+ArrowDown on a focused item (plain ArrowUp / ArrowDown move the focus), or press an item's
// Move up / Move down buttons. Controlled: `order` (indices into `completions`, best → worst) comes in and every
// move hands the new order to `onOrder`. Items keep their letter (Completion A, B, … as sampled) and announce their
// place ("2nd of 4: completion C"); each move is announced in a status line, and focus follows the moved item.
import { type DragEvent, type KeyboardEvent, useId, useLayoutEffect, useRef, useState } from 'react';
import './rank.css';

/** The letter a completion is known by: its index as sampled, 0 → A. */
export const completionLetter = (index: number) => String.fromCharCode(65 + index);

/** 1 → "1st", 2 → "2nd", 11 → "11th". */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** `order` with the entry at position `from` taken out and put back at position `to`. */
export function moved(order: readonly number[], from: number, to: number): number[] {
  const next = order.slice();
  const [entry] = next.splice(from, 1);
  next.splice(to, 0, entry);
  return next;
}

export interface RankListProps {
  completions: readonly string[];
  /** Indices into `completions`, best → worst. */
  order: readonly number[];
  onOrder(order: number[]): void;
}

/** What gets the focus once a move has re-rendered the list: the moved item, or the same button of it. */
interface FocusAfterMove {
  completion: number;
  control: 'item' | 'up' | 'down';
}

export function RankList({ completions, order, onOrder }: RankListProps) {
  const id = useId();
  const count = order.length;
  /** Position being dragged, and the position it is over. */
  const [dragged, setDragged] = useState<number>();
  const [over, setOver] = useState<number>();
  const [announcement, setAnnouncement] = useState('');
  const items = useRef(new Map<number, HTMLLIElement>());
  const focusAfterMove = useRef<FocusAfterMove>(undefined);

  // React may re-insert a moved <li>, which drops its focus: put the focus back where the move came from.
  useLayoutEffect(() => {
    const target = focusAfterMove.current;
    if (!target) return;
    focusAfterMove.current = undefined;
    const item = items.current.get(target.completion);
    const button = target.control === 'item' ? null : item?.querySelector<HTMLButtonElement>(`button[data-move="${target.control}"]:not(:disabled)`);
    (button ?? item)?.focus();
  });

  const move = (from: number, to: number, focus?: FocusAfterMove['control']) => {
    if (to < 0 || to >= count || to === from) return;
    const completion = order[from];
    if (focus) focusAfterMove.current = { completion, control: focus };
    setAnnouncement(`Completion ${completionLetter(completion)} moved to ${ordinal(to + 1)} of ${count}.`);
    onOrder(moved(order, from, to));
  };

  const onItemKeyDown = (position: number) => (e: KeyboardEvent<HTMLLIElement>) => {
    if (e.target !== e.currentTarget || e.ctrlKey || e.metaKey || e.shiftKey) return; // keys on its buttons are theirs
    const step = e.key === 'ArrowUp' ? -1 : e.key === 'ArrowDown' ? 1 : 0;
    if (step === 0) return;
    e.preventDefault();
    if (e.altKey) move(position, position + step, 'item');
    else items.current.get(order[position + step])?.focus();
  };

  const endDrag = () => {
    setDragged(undefined);
    setOver(undefined);
  };
  const dragHandlers = (position: number) => ({
    onDragStart: (e: DragEvent<HTMLLIElement>) => {
      setDragged(position);
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData('text/plain', completions[order[position]]); // some browsers start no drag without data
    },
    onDragOver: (e: DragEvent<HTMLLIElement>) => {
      if (dragged === undefined) return; // not one of ours: no drop here
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
      setOver(position);
    },
    onDrop: (e: DragEvent<HTMLLIElement>) => {
      if (dragged === undefined) return;
      e.preventDefault();
      move(dragged, position);
      endDrag();
    },
    onDragEnd: endDrag,
  });

  return (
    <div className="rank">
      {/* role="list" stated: Safari drops the list role of a list styled without markers. */}
      <ol className="rank-list" role="list" aria-label="Completions to rank">
        {order.map((completion, position) => {
          const letter = completionLetter(completion);
          const place = `${ordinal(position + 1)} of ${count}`;
          const classes = ['rank-item', position === dragged && 'dragging', position === over && position !== dragged && 'drop-target'].filter(Boolean).join(' ');
          return (
            <li
              key={completion}
              ref={(el) => {
                if (el) items.current.set(completion, el);
                else items.current.delete(completion);
              }}
              className={classes}
              data-completion={letter}
              tabIndex={0}
              draggable
              aria-label={`${place}: completion ${letter}`}
              aria-describedby={`${id}-${completion}`}
              onKeyDown={onItemKeyDown(position)}
              {...dragHandlers(position)}
            >
              <span className="rank-place" aria-hidden="true">
                {place}
              </span>
              <div className="rank-body">
                <h4>Completion {letter}</h4>
                <p id={`${id}-${completion}`} className="feedback-text">
                  {completions[completion]}
                </p>
              </div>
              <span className="rank-moves">
                <button type="button" data-move="up" aria-label={`Move completion ${letter} up`} title="Move up (Alt+↑)" disabled={position === 0} onClick={() => move(position, position - 1, 'up')}>
                  ↑
                </button>
                <button type="button" data-move="down" aria-label={`Move completion ${letter} down`} title="Move down (Alt+↓)" disabled={position === count - 1} onClick={() => move(position, position + 1, 'down')}>
                  ↓
                </button>
              </span>
            </li>
          );
        })}
      </ol>
      <p className="rank-status muted" role="status">
        {announcement}
      </p>
    </div>
  );
}
