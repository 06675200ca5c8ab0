// The corpus generators: word lists, grammar templates for stories, product reviews, dialogues, instruction lines
// and story questions, and the seeded chooser `Gen` (mulberry32 from src/model/data.ts). Shared by the corpus CLI
// (src/cli/make-corpus.ts writes public/corpus/ from them) and the RLHF tasks (src/rlhf/tasks/*, which draw prompts,
// demonstrations and pretraining text from the same distribution the tiny base model was trained on).
// Plain TypeScript with no node:* imports, so it runs in a browser Web Worker too. Every function draws from the
// `Gen` it is given in a fixed order: changing any template or list changes the bundled corpus (a test compares).
import { seededRandom, type SftExample } from '../model/data';

export const DEFAULT_SEED = 20240611;
export const DEFAULT_BYTES = 1_000_000;
export const DEFAULT_SFT = 400;

// ---- random choices ----

export class Gen {
  private readonly r: () => number;
  constructor(seed: number) {
    this.r = seededRandom(seed);
  }
  float(): number {
    return this.r();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1)); // inclusive
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)];
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  /** k distinct elements. */
  sample<T>(xs: readonly T[], k: number): T[] {
    const copy = xs.slice();
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.r() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, k);
  }
}

export const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
export const an = (w: string) => (/^[aeiou]/i.test(w) ? `an ${w}` : `a ${w}`);

// ---- word lists ----

export const GIRLS = ['Mia', 'Lily', 'Anna', 'Sara', 'Emma', 'Zoe', 'Ruby', 'Lucy', 'Nora', 'Ella', 'Rosa', 'Maya', 'Ivy', 'Hana', 'Luna', 'Amy', 'Tess', 'Nina'];
export const BOYS = ['Tom', 'Ben', 'Max', 'Leo', 'Sam', 'Jack', 'Finn', 'Omar', 'Noah', 'Eli', 'Theo', 'Kai', 'Hugo', 'Ravi', 'Owen', 'Luke', 'Adam', 'Dan'];
export const ANIMALS = ['cat', 'dog', 'rabbit', 'fox', 'bear', 'bird', 'mouse', 'frog', 'duck', 'owl', 'turtle', 'horse', 'pig', 'lamb', 'squirrel', 'deer', 'puppy', 'kitten', 'hedgehog', 'goat'];
const SIZES = ['little', 'small', 'young', 'curious', 'kind', 'shy', 'brave', 'happy', 'clever', 'gentle', 'funny', 'busy'];
const GROWNUPS = ['Mom', 'Dad', 'Grandma', 'Grandpa', 'the teacher', 'the old owl', 'Aunt Rose', 'Uncle Joe', 'the wise turtle'];
export const PLACES = ['park', 'forest', 'beach', 'garden', 'farm', 'river', 'lake', 'hill', 'village', 'market', 'school', 'library', 'bakery', 'castle', 'meadow', 'pond', 'playground', 'zoo', 'barn', 'field', 'mountain', 'island', 'harbor', 'orchard', 'valley'];
export const OBJECTS = ['ball', 'kite', 'hat', 'book', 'box', 'key', 'boat', 'drum', 'map', 'lamp', 'shell', 'stone', 'flower', 'toy car', 'balloon', 'blanket', 'bell', 'cup', 'feather', 'ring', 'basket', 'umbrella', 'puzzle', 'robot', 'wagon', 'coin', 'scarf', 'whistle', 'crayon', 'teddy bear', 'marble', 'pencil'];
export const COLORS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'pink', 'white', 'black', 'brown', 'golden', 'silver'];
const OBJ_ADJ = ['big', 'small', 'shiny', 'soft', 'old', 'new', 'round', 'bright', 'tiny', 'heavy', 'funny', 'pretty', 'special', 'little'];
export const FOODS = ['apples', 'cookies', 'carrots', 'grapes', 'cherries', 'sandwiches', 'muffins', 'berries', 'pears', 'plums', 'crackers', 'cupcakes', 'nuts', 'strawberries'];
export const GOOD = ['happy', 'glad', 'proud', 'excited', 'calm', 'thankful', 'cheerful', 'joyful'];
export const BAD = ['sad', 'scared', 'worried', 'upset', 'lonely', 'nervous', 'unhappy', 'afraid'];
const TIMES = ['morning', 'afternoon', 'evening', 'sunny day', 'windy day', 'cold morning', 'warm afternoon', 'quiet evening'];
const HIDING = ['under the bench', 'behind the big tree', 'near the river', 'in the tall grass', 'inside an old box', 'next to the big rock', 'on top of the hill', 'under a pile of leaves', 'behind the red door', 'beside the fence', 'under the bed', 'in a bush'];
const SCENERY = [
  'The sun was warm and the birds were singing.',
  'The sky was blue and there were no clouds.',
  'The wind moved the leaves in the trees.',
  'The flowers were red, yellow and white.',
  'The air smelled like fresh bread.',
  'Little waves came up on the sand.',
  'A soft rain fell on the roof.',
  'The grass was wet and green.',
  'Bees buzzed over the flowers.',
  'The moon was big and round that night.',
];
const GAMES = ['tag', 'hide and seek', 'catch', 'a board game', 'with a ball', 'in the sand', 'with the blocks', 'pretend pirates'];
const WEATHER = [
  { day: 'sunny', detail: 'The sun was bright and hot.' },
  { day: 'windy', detail: 'The wind was strong and the trees moved.' },
  { day: 'cloudy', detail: 'Gray clouds covered the sky.' },
  { day: 'snowy', detail: 'White snow covered the ground.' },
  { day: 'cold', detail: 'Their noses turned red in the cold air.' },
  { day: 'warm', detail: 'A warm breeze blew over the hills.' },
];
const SIGHTS = ['a big frog jumping into the water', 'a small bird building a nest', 'a line of ants carrying food', 'a butterfly with blue wings', 'a family of ducks', 'a squirrel eating a nut', 'a deer drinking from a stream', 'a snail on a leaf', 'a fish jumping out of the lake', 'a cat sleeping in the sun'];
const SKILLS = [
  { want: 'fly a kite', fail: 'the kite fell to the ground', win: 'the kite flew high in the sky' },
  { want: 'ride a bike', fail: 'the bike tipped over', win: 'the bike rolled down the path and did not fall' },
  { want: 'climb the big tree', fail: 'slipped on the first branch', win: 'reached the top branch and saw the whole village' },
  { want: 'swim across the pond', fail: 'swallowed some water and had to stop', win: 'swam all the way to the other side' },
  { want: 'bake a cake', fail: 'the cake came out flat and burnt', win: 'the cake came out soft and sweet' },
  { want: 'sing in the school show', fail: 'forgot the words', win: 'sang every word, loud and clear' },
  { want: 'build a tall tower of blocks', fail: 'the tower fell down', win: 'the tower stood tall and did not fall' },
  { want: 'catch a ball', fail: 'the ball bounced away', win: 'caught the ball with both hands' },
  { want: 'whistle a song', fail: 'only air came out', win: 'whistled a happy little song' },
  { want: 'draw a horse', fail: 'the horse looked like a potato', win: 'drew a horse with a long tail and a kind face' },
];
const ADVICE = [
  'Try again, and do not give up.',
  'Take a deep breath and go slowly.',
  'Everyone makes mistakes when they learn.',
  'Watch carefully, then try one more time.',
  'It is fine to be scared. Be brave anyway.',
  'Practice a little every day.',
];
const FIXES = ['glue', 'tape', 'a piece of string', 'some nails', 'a needle and thread'];
const SHELTERS = ['a big tree', 'an old barn', 'a cave', 'the bus stop', 'a little shop', 'the porch of a house'];

export interface Who {
  name: string;
  intro: string; // "a little girl named Mia"
  sub: string; // she/he
  obj: string; // her/him
  pos: string; // her/his
}

export function character(g: Gen, exclude: string[] = []): Who {
  const girl = g.chance(0.5);
  let name = g.pick(girl ? GIRLS : BOYS);
  while (exclude.includes(name)) name = g.pick(girl ? GIRLS : BOYS);
  const kind = g.chance(0.5) ? (girl ? 'girl' : 'boy') : g.pick(ANIMALS);
  return {
    name,
    intro: `${an(g.pick(SIZES))} ${kind} named ${name}`,
    sub: girl ? 'she' : 'he',
    obj: girl ? 'her' : 'him',
    pos: girl ? 'her' : 'his',
  };
}

function opening(g: Gen, x: Who): string {
  return g.pick([
    `Once upon a time, there was ${x.intro}.`,
    `There once was ${x.intro}.`,
    `Once there was ${x.intro} who lived near the ${g.pick(PLACES)}.`,
    `In a small village, there lived ${x.intro}.`,
    `Long ago, ${x.intro} lived by the ${g.pick(PLACES)}.`,
  ]);
}

const scenery = (g: Gen) => (g.chance(0.4) ? [g.pick(SCENERY)] : []);

// ---- stories ----

function lostStory(g: Gen): string {
  const x = character(g);
  const y = character(g, [x.name]);
  const obj = g.pick(OBJECTS);
  const [h1, h2, h3] = g.sample(HIDING, 3);
  const good = g.pick(GOOD);
  return [
    opening(g, x),
    g.pick([`${cap(x.pos)} favorite toy was ${an(g.pick(COLORS))} ${obj}.`, `${x.name} had ${an(g.pick(OBJ_ADJ))} ${g.pick(COLORS)} ${obj}. ${cap(x.sub)} loved it very much.`]),
    `One ${g.pick(TIMES)}, ${x.name} took the ${obj} to the ${g.pick(PLACES)}.`,
    ...scenery(g),
    g.pick([`${cap(x.sub)} played with it all day.`, `${cap(x.sub)} played happily for a long time.`, `${cap(x.sub)} showed it to everyone.`]),
    g.pick([`But when it was time to go home, the ${obj} was gone!`, `Suddenly, a strong wind blew the ${obj} away.`, `Then ${x.sub} put it down for a moment, and it was gone.`]),
    `${x.name} felt very ${g.pick(BAD)}. ${g.pick([`${cap(x.sub)} began to cry.`, `${cap(x.sub)} looked everywhere.`, `${cap(x.sub)} did not know what to do.`])}`,
    `Then ${y.intro} came by. "Why are you so sad?" asked ${y.name}.`,
    `"I lost my ${obj}," said ${x.name}.`,
    `"Do not worry. I will help you," said ${y.name}.`,
    `They looked ${h1} and ${h2}.`,
    `At last, ${y.name} found the ${obj} ${h3}!`,
    `${x.name} was so ${good}. "Thank you, ${y.name}!" ${x.sub} said.`,
    g.pick([
      `From that day on, ${x.name} and ${y.name} were best friends.`,
      `${x.name} learned that good friends help each other.`,
      `After that, ${x.name} always kept the ${obj} close.`,
      `They walked home together, holding the ${obj}.`,
    ]),
  ].join(' ');
}

function skillStory(g: Gen): string {
  const x = character(g);
  const s = g.pick(SKILLS);
  const mentor = g.pick(GROWNUPS);
  const good = g.pick(GOOD);
  return [
    opening(g, x),
    `${x.name} wanted to ${s.want}.`,
    g.pick([`But ${x.sub} was too small.`, `But ${x.sub} was a little scared.`, `${cap(x.sub)} had never done it before.`, `All ${x.pos} friends could do it already.`]),
    `The first time ${x.sub} tried, ${s.fail.startsWith('the ') ? s.fail : `${x.sub} ${s.fail}`}.`,
    `${x.name} felt ${g.pick(BAD)}.`,
    `${cap(mentor)} saw ${x.obj} and said, "${g.pick(ADVICE)}"`,
    g.pick([`So ${x.name} tried again. And again.`, `${x.name} nodded and tried one more time.`, `The next day, ${x.name} tried again.`]),
    ...scenery(g),
    `This time, ${s.win.startsWith('the ') ? s.win : `${x.sub} ${s.win}`}!`,
    `${x.name} felt ${good}. ${g.pick([`"I did it!" ${x.sub} shouted.`, `${cap(mentor)} clapped and smiled.`, `${cap(x.sub)} could not stop smiling.`])}`,
    g.pick([`${x.name} learned that practice helps.`, `${x.name} learned not to give up.`, `From then on, ${x.name} was never afraid to try new things.`, `The end.`]),
  ].join(' ');
}

function shareStory(g: Gen): string {
  const x = character(g);
  const y = character(g, [x.name]);
  const food = g.pick(FOODS);
  const n = g.int(2, 8);
  return [
    opening(g, x),
    `One ${g.pick(TIMES)}, ${x.name} and ${y.name} were at the ${g.pick(PLACES)}.`,
    ...scenery(g),
    `${x.name} had ${n === 2 ? 'two' : n} ${food} in ${x.pos} bag.`,
    `${y.name} had nothing to eat and looked ${g.pick(['hungry', 'sad', 'tired'])}.`,
    g.pick([`${x.name} thought for a moment.`, `${x.name} wanted to keep all the ${food}.`, `${x.name} looked at ${x.pos} ${food}, then at ${y.name}.`]),
    `Then ${x.sub} gave ${g.pick(['half of them', 'some of them', `the biggest one`])} to ${y.name}.`,
    `"Thank you," said ${y.name}, and smiled.`,
    `They ate together and ${g.pick(['watched the clouds', 'told funny stories', 'looked at the boats', 'counted the birds', 'played a game'])}.`,
    g.pick([`Sharing made them both ${g.pick(GOOD)}.`, `${x.name} learned that sharing feels good.`, `It was the best ${g.pick(TIMES)} of the week.`]),
  ].join(' ');
}

function weatherStory(g: Gen): string {
  const x = character(g);
  const y = character(g, [x.name]);
  const w = g.pick(WEATHER);
  const place = g.pick(PLACES);
  return [
    `It was a ${w.day} day.`,
    `${x.name} and ${y.name} went to the ${place} to ${g.pick(['play', 'look for shells', 'pick flowers', 'have a picnic', 'fly a kite', 'find frogs', 'see the animals'])}.`,
    w.detail,
    `On the way, they saw ${g.pick(SIGHTS)}.`,
    `"Look!" said ${x.name}. "${g.pick(['How pretty!', 'It is so small!', 'Let us watch it.', 'I have never seen that before.'])}"`,
    `Suddenly, dark clouds came and it began to rain.`,
    `They ran to ${g.pick(SHELTERS)} and waited.`,
    `${y.name} was ${g.pick(['scared', 'worried', 'nervous', 'afraid', 'cold'])}, but ${x.name} held ${y.pos} hand.`,
    `When the rain stopped, they saw a big rainbow over the ${place}.`,
    `"${g.pick(['What a day!', 'That was an adventure!', 'I am glad we came,', 'Let us come back tomorrow,'])}" said ${y.name}.`,
    `They went home ${g.pick(['wet but happy', 'tired and happy', 'laughing all the way', 'singing a song'])}.`,
  ].join(' ');
}

function friendStory(g: Gen): string {
  const x = character(g);
  const y = character(g, [x.name]);
  const obj = g.pick(OBJECTS);
  return [
    opening(g, x),
    `${x.name} was new in the ${g.pick(['village', 'town', 'forest', 'school'])}.`,
    `${cap(x.sub)} did not know anyone and felt ${g.pick(['lonely', 'shy', 'sad'])}.`,
    `One ${g.pick(TIMES)} at the ${g.pick(PLACES)}, ${x.sub} saw ${y.intro} playing with ${an(g.pick(COLORS))} ${obj}.`,
    `${x.name} wanted to say hello, but ${x.sub} was too shy.`,
    ...scenery(g),
    `Then ${y.name} looked up and asked, "Do you want to play with me?"`,
    `"Yes, please!" said ${x.name}.`,
    `They played ${g.pick(GAMES)} until the sun went down.`,
    g.pick([`${x.name} was not lonely anymore.`, `${x.name} had a new friend.`, `The next day, they met again at the same place.`]),
  ].join(' ');
}

function sorryStory(g: Gen): string {
  const x = character(g);
  const y = character(g, [x.name]);
  const obj = g.pick(['kite', 'toy car', 'drum', 'boat', 'robot', 'wagon', 'lamp', 'basket', 'umbrella', 'teddy bear']);
  return [
    opening(g, x),
    `One day, ${x.name} was playing with ${y.name}'s ${obj}.`,
    g.pick([`${cap(x.sub)} threw it too high and it broke.`, `${cap(x.sub)} dropped it and a piece fell off.`, `${cap(x.sub)} pulled too hard and it broke.`]),
    `${x.name} felt ${g.pick(['worried', 'scared', 'nervous'])}. ${cap(x.sub)} wanted to hide it.`,
    `But then ${x.sub} went to ${y.name} and said, "I am sorry. I broke your ${obj}."`,
    `${y.name} was ${g.pick(['sad', 'upset', 'angry'])} at first.`,
    `Then ${y.name} said, "Thank you for telling me the truth."`,
    `Together they fixed the ${obj} with ${g.pick(FIXES)}.`,
    ...scenery(g),
    g.pick([`It was as good as new.`, `It did not look perfect, but it worked.`, `Now it was even better than before.`]),
    g.pick([`${x.name} learned that telling the truth is brave.`, `They played with it together all afternoon.`, `${x.name} and ${y.name} were still good friends.`]),
  ].join(' ');
}

export const STORIES = [lostStory, skillStory, shareStory, weatherStory, friendStory, sorryStory];

// ---- product reviews ----

export const PRODUCTS = ['headphones', 'coffee maker', 'backpack', 'desk lamp', 'blender', 'phone case', 'water bottle', 'running shoes', 'keyboard', 'toaster', 'umbrella', 'office chair', 'board game', 'teapot', 'tent', 'camera', 'watch', 'rain jacket', 'pillow', 'mug', 'alarm clock', 'bike helmet', 'kettle', 'speaker', 'notebook', 'frying pan', 'sleeping bag', 'lunch box', 'wallet', 'fan'];
export const ASPECTS = ['sound', 'battery', 'price', 'size', 'color', 'quality', 'design', 'handle', 'zipper', 'material', 'weight', 'button', 'lid', 'strap'];
export const POS_ADJ = ['great', 'excellent', 'perfect', 'very good', 'amazing', 'lovely', 'solid', 'wonderful', 'fantastic', 'nice'];
export const NEG_ADJ = ['terrible', 'awful', 'poor', 'cheap', 'bad', 'disappointing', 'flimsy', 'horrible', 'weak', 'useless'];
export const RELATIVES = ['my son', 'my daughter', 'my wife', 'my husband', 'my mother', 'my father', 'my sister', 'my brother', 'my friend', 'myself'];
export const POS_TITLES = ['Love it!', 'Great value', 'Works perfectly', 'Best purchase this year', 'Very happy', 'Exactly what I needed', 'Highly recommend', 'Five stars'];
export const NEG_TITLES = ['Do not buy', 'Very disappointed', 'Broke quickly', 'Waste of money', 'Not as described', 'Poor quality', 'Returned it', 'Stay away'];
export const POS_LINES = [
  (_p: string, g: Gen) => `The ${g.pick(ASPECTS)} is ${g.pick(POS_ADJ)}.`,
  (p: string) => `I use this ${p} every day and it works well.`,
  (_p: string, g: Gen) => `${cap(g.pick(RELATIVES.slice(0, 9)))} loves it too.`,
  () => `It arrived early and was well packed.`,
  () => `It is worth every penny.`,
  () => `I would buy it again.`,
  (p: string) => `This is the best ${p} I have ever owned.`,
  (_p: string, g: Gen) => `After ${g.int(2, 11)} months it still works like new.`,
  () => `It was easy to set up.`,
  (_p: string, g: Gen) => {
    const [a, b] = g.sample(ASPECTS, 2);
    return `The ${a} is ${g.pick(POS_ADJ)} and the ${b} is ${g.pick(POS_ADJ)} too.`;
  },
  () => `I am very happy with it.`,
  () => `Great quality for the price.`,
];
export const NEG_LINES = [
  (_p: string, g: Gen) => `The ${g.pick(ASPECTS)} is ${g.pick(NEG_ADJ)}.`,
  (_p: string, g: Gen) => `It broke after ${g.int(2, 6)} ${g.pick(['days', 'weeks'])}.`,
  () => `It stopped working after one week.`,
  () => `I want my money back.`,
  () => `The box was damaged when it arrived.`,
  () => `It is not worth the price.`,
  () => `I would not buy it again.`,
  (p: string) => `This is the worst ${p} I have ever owned.`,
  () => `The instructions were confusing.`,
  (_p: string, g: Gen) => {
    const [a, b] = g.sample(ASPECTS, 2);
    return `The ${a} is ${g.pick(NEG_ADJ)} and the ${b} is ${g.pick(NEG_ADJ)}.`;
  },
  () => `I am very unhappy with it.`,
  () => `Customer service never answered my emails.`,
];

export function review(g: Gen, positive: boolean, product = g.pick(PRODUCTS)): { text: string; stars: number; product: string } {
  const stars = positive ? g.int(4, 5) : g.int(1, 2);
  const lines = positive ? POS_LINES : NEG_LINES;
  const body = g.sample(lines, g.int(3, 5)).map((f) => f(product, g));
  const start = positive
    ? g.pick([`I bought this ${product} for ${g.pick(RELATIVES)}.`, `I was looking for a good ${product} for a long time.`, `I love this ${product}.`])
    : g.pick([`I bought this ${product} for ${g.pick(RELATIVES)}.`, `I had high hopes for this ${product}.`, `I really wanted to like this ${product}.`]);
  const text = `Review of the ${product}: ${g.pick(positive ? POS_TITLES : NEG_TITLES)}\nRating: ${stars} out of 5\n${[start, ...body].join(' ')}`;
  return { text, stars, product };
}

// ---- dialogues ----

export function dialogue(g: Gen): string {
  const x = character(g);
  const y = character(g, [x.name]);
  const place = g.pick(PLACES);
  const lines: [Who, string][] = [
    [x, g.pick([`Hi ${y.name}! How are you today?`, `Hello ${y.name}. How are you?`, `Good ${g.pick(['morning', 'afternoon', 'evening'])}, ${y.name}! How are you?`])],
    [y, `I am ${g.pick([...GOOD, 'tired', 'a bit sad', 'fine'])}, thanks. I just came back from the ${place}.`],
    [x, g.pick([`What did you do there?`, `Oh, what did you do there?`, `Nice. What did you do there?`])],
  ];
  const topic = g.int(0, 3);
  if (topic === 0) {
    const sight = g.pick(SIGHTS);
    lines.push([y, `I watched ${sight}.`], [x, g.pick(['Wow, I wish I could see that.', 'That sounds nice.', 'Really? Can you show me tomorrow?'])], [y, `Sure. We can go together after ${g.pick(['lunch', 'school', 'breakfast', 'dinner'])}.`]);
  } else if (topic === 1) {
    const food = g.pick(FOODS);
    lines.push([y, `I bought some ${food} there.`], [x, `Are they good?`], [y, g.pick([`Yes, they are very sweet. Do you want some?`, `No, they were old and dry. I was disappointed.`])], [x, g.pick(['Yes, please!', 'Oh no. Maybe try another shop next time.', 'Thank you, that is kind of you.'])]);
  } else if (topic === 2) {
    const r = review(g, g.chance(0.5));
    const liked = r.stars >= 4;
    lines.push(
      [y, `I tried my new ${r.product} there.`],
      [x, `Do you like it?`],
      [y, liked ? `Yes! The ${g.pick(ASPECTS)} is ${g.pick(POS_ADJ)}. I am very happy with it.` : `No. The ${g.pick(ASPECTS)} is ${g.pick(NEG_ADJ)}. I want to send it back.`],
      [x, liked ? `That is great. Maybe I will buy one too.` : `That is too bad. I hope you get your money back.`],
    );
  } else {
    const s = g.pick(SKILLS);
    lines.push([y, `I tried to ${s.want}.`], [x, `Did it work?`], [y, `Not at first, but I tried again and it worked.`], [x, g.pick(['Good job!', 'You must be proud.', 'Can you teach me?'])]);
  }
  lines.push([y, g.pick(['I have to go home now. See you tomorrow!', 'See you later!', 'Bye for now!'])], [x, g.pick(['Bye!', 'See you!', 'Take care!'])]);
  return lines.map(([who, text]) => `${who.name}: ${text}`).join('\n');
}

// ---- instruction lines and story questions ----

export const WORDS = ['cat', 'dog', 'sun', 'tree', 'book', 'apple', 'river', 'happy', 'green', 'house', 'bird', 'cake', 'moon', 'star', 'fish', 'lamp', 'boat', 'hill', 'kite', 'frog', 'milk', 'rain', 'snow', 'door', 'ring', 'bell', 'shoe', 'hat', 'box', 'cup'];
export const OPPOSITES: [string, string][] = [['happy', 'sad'], ['big', 'small'], ['hot', 'cold'], ['up', 'down'], ['day', 'night'], ['fast', 'slow'], ['old', 'new'], ['open', 'closed'], ['light', 'dark'], ['good', 'bad'], ['wet', 'dry'], ['full', 'empty'], ['loud', 'quiet'], ['high', 'low'], ['early', 'late'], ['soft', 'hard']];
export const PLURALS: [string, string][] = [['cat', 'cats'], ['box', 'boxes'], ['mouse', 'mice'], ['child', 'children'], ['fox', 'foxes'], ['tooth', 'teeth'], ['foot', 'feet'], ['sheep', 'sheep'], ['bus', 'buses'], ['leaf', 'leaves'], ['berry', 'berries'], ['man', 'men'], ['goose', 'geese'], ['dog', 'dogs'], ['wish', 'wishes'], ['toy', 'toys']];

export function randomLetters(g: Gen, lo: number, hi: number): string {
  return Array.from({ length: g.int(lo, hi) }, () => String.fromCharCode(97 + g.int(0, 25))).join('');
}

/** One instruction as [prompt, answer]: the corpus writes "prompt => answer", the SFT file splits them. */
export function instruction(g: Gen): [string, string] {
  switch (g.int(0, 8)) {
    case 0: {
      const w = g.chance(0.5) ? g.pick(WORDS) : randomLetters(g, 3, 6);
      return [`reverse: ${w}`, [...w].reverse().join('')];
    }
    case 1: {
      const w = g.pick([...WORDS, ...GIRLS.map((s) => s.toLowerCase())]);
      return [`uppercase: ${w}`, w.toUpperCase()];
    }
    case 2: {
      const a = g.int(0, 50);
      const b = g.int(0, 50);
      return [`add: ${a} + ${b}`, String(a + b)];
    }
    case 3: {
      const [a, b] = g.pick(OPPOSITES);
      return g.chance(0.5) ? [`opposite: ${a}`, b] : [`opposite: ${b}`, a];
    }
    case 4: {
      const [a, b] = g.pick(PLURALS);
      return [`plural: ${a}`, b];
    }
    case 5: {
      const letters = g.sample([...'abcdefghijklmnopqrstuvwxyz'], g.int(3, 6));
      return [`sort: ${letters.join(' ')}`, letters.slice().sort().join(' ')];
    }
    case 6: {
      const w = g.pick(WORDS);
      return [`count letters: ${w}`, String(w.length)];
    }
    case 7: {
      const positive = g.chance(0.5);
      const line = g.pick(positive ? POS_LINES : NEG_LINES)(g.pick(PRODUCTS), g);
      return [`sentiment: ${line}`, positive ? 'positive' : 'negative'];
    }
    default: {
      const w = g.pick(WORDS);
      return [`first letter: ${w}`, w[0]];
    }
  }
}

function instructionBlock(g: Gen): string {
  return Array.from({ length: g.int(4, 9) }, () => instruction(g).join(' => ')).join('\n');
}

/** A three-sentence story and a question about it, as [story + question, answer]. */
export function storyQuestion(g: Gen): [string, string] {
  const x = character(g);
  const y = character(g, [x.name]);
  const obj = g.pick(OBJECTS);
  const color = g.pick(COLORS);
  const place = g.pick(PLACES);
  const hiding = g.pick(HIDING);
  const story = `${x.name} lost ${x.pos} ${color} ${obj} at the ${place}. ${y.name} found it ${hiding}. ${x.name} felt ${g.pick(GOOD)}.`;
  const q = g.int(0, 3);
  if (q === 0) return [`${story} Who found the ${obj}?`, `${y.name} found it.`];
  if (q === 1) return [`${story} Where did ${x.name} lose the ${obj}?`, `At the ${place}.`];
  if (q === 2) return [`${story} What color was the ${obj}?`, `It was ${color}.`];
  return [`${story} Where was the ${obj}?`, `It was ${hiding}.`];
}

// ---- the corpus and the SFT file ----

export type Genre = 'story' | 'review' | 'dialogue' | 'instructions' | 'question';

/** Documents of the pretraining corpus until their total size reaches `targetBytes` (ASCII: bytes = characters). */
export function generateDocuments(seed: number, targetBytes: number): { genre: Genre; text: string }[] {
  const g = new Gen(seed);
  const docs: { genre: Genre; text: string }[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const u = g.float();
    let doc: { genre: Genre; text: string };
    if (u < 0.45) doc = { genre: 'story', text: g.pick(STORIES)(g) };
    else if (u < 0.7) doc = { genre: 'review', text: review(g, g.chance(0.5)).text };
    else if (u < 0.85) doc = { genre: 'dialogue', text: dialogue(g) };
    else if (u < 0.95) doc = { genre: 'instructions', text: instructionBlock(g) };
    else {
      const [question, answer] = storyQuestion(g);
      doc = { genre: 'question', text: `${question}\nAnswer: ${answer}` };
    }
    docs.push(doc);
    bytes += doc.text.length + 2;
  }
  return docs;
}

/** The pretraining text: documents separated by a blank line, ending with a newline. */
export function generateCorpus(seed = DEFAULT_SEED, targetBytes = DEFAULT_BYTES): string {
  return `${generateDocuments(seed, targetBytes).map((d) => d.text).join('\n\n')}\n`;
}

/** `count` SFT examples in the corpus's style (a different random stream from the corpus's, same seed). */
export function generateSft(seed = DEFAULT_SEED, count = DEFAULT_SFT): SftExample[] {
  const g = new Gen(seed ^ 0x5f7d);
  return Array.from({ length: count }, (): SftExample => {
    const u = g.float();
    if (u < 0.4) {
      const [prompt, completion] = instruction(g);
      return { prompt, completion };
    }
    if (u < 0.6) {
      const positive = g.chance(0.5);
      const product = g.pick(PRODUCTS);
      const body = g.sample(positive ? POS_LINES : NEG_LINES, 2).map((f) => f(product, g));
      return { prompt: `Write a ${positive ? 'positive' : 'negative'} review of the ${product}.`, completion: body.join(' ') };
    }
    if (u < 0.8) {
      const [prompt, completion] = storyQuestion(g);
      return { prompt, completion };
    }
    const x = character(g);
    const s = g.pick(SKILLS);
    const story = [
      `${x.name} wanted to ${s.want}.`,
      `The first time, ${s.fail.startsWith('the ') ? s.fail : `${x.sub} ${s.fail}`}.`,
      `${cap(x.sub)} tried again, and ${s.win.startsWith('the ') ? s.win : `${x.sub} ${s.win}`}.`,
    ].join(' ');
    return { prompt: `Write a short story about ${x.intro} who wants to ${s.want}.`, completion: story };
  });
}

export function toJsonl(examples: SftExample[]): string {
  return examples.map((e) => JSON.stringify({ prompt: e.prompt, completion: e.completion })).join('\n') + '\n';
}
