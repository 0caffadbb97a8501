/**
 * The vocabulary of seeded posts: words any post may use, and topics whose words a post mostly
 * draws from, so words co-occur as they do in real writing. Within each list, earlier words
 * are drawn more often (a Zipf-like skew), so every list has common and rare words.
 */

// prettier-ignore
export const FUNCTION_WORDS = [
  'the', 'a', 'and', 'of', 'to', 'in', 'with', 'for', 'on', 'is', 'it', 'that', 'this', 'was',
  'at', 'by', 'from', 'but', 'we', 'our', 'my', 'their', 'very', 'more', 'after', 'before',
];

// prettier-ignore
export const GENERAL_WORDS = [
  'time', 'day', 'week', 'year', 'people', 'way', 'thing', 'place', 'world', 'life', 'work',
  'home', 'friend', 'family', 'idea', 'story', 'question', 'answer', 'change', 'plan', 'start',
  'end', 'first', 'last', 'new', 'old', 'good', 'great', 'small', 'large', 'long', 'short',
  'early', 'late', 'simple', 'hard', 'easy', 'quick', 'slow', 'better', 'best', 'favourite',
  'make', 'take', 'find', 'try', 'learn', 'share', 'write', 'read', 'think', 'feel', 'look',
  'keep', 'give', 'build', 'watch', 'wait', 'remember', 'forget', 'notice', 'choose', 'need',
  'morning', 'evening', 'night', 'weekend', 'season', 'moment', 'lesson', 'mistake', 'habit',
  'surprise', 'detail', 'reason', 'result', 'problem', 'choice', 'experience', 'memory',
];

// prettier-ignore
export const TOPICS: readonly (readonly string[])[] = [
  // cooking
  [
    'recipe', 'kitchen', 'bread', 'garlic', 'tomato', 'butter', 'oven', 'soup', 'onion', 'pepper',
    'flour', 'pasta', 'sauce', 'cheese', 'salt', 'lemon', 'dough', 'roast', 'bake', 'simmer',
    'spice', 'dinner', 'lunch', 'breakfast', 'knife', 'pan', 'chicken', 'rice', 'basil', 'olive',
    'vinegar', 'honey', 'yeast', 'crust', 'stew', 'grill',
  ],
  // gardening
  [
    'garden', 'seed', 'soil', 'plant', 'flower', 'water', 'compost', 'root', 'leaf', 'bloom',
    'prune', 'weed', 'bed', 'rose', 'tulip', 'shade', 'sunlight', 'harvest', 'greenhouse', 'mulch',
    'bulb', 'hedge', 'lawn', 'shovel', 'sprout', 'vine', 'orchard', 'fern', 'moss', 'pot',
    'trowel', 'frost', 'berry', 'herb', 'bee', 'worm',
  ],
  // travel
  [
    'travel', 'trip', 'train', 'station', 'city', 'map', 'hotel', 'flight', 'airport', 'beach',
    'mountain', 'village', 'ticket', 'luggage', 'passport', 'border', 'harbour', 'island', 'coast',
    'road', 'bridge', 'museum', 'market', 'street', 'guide', 'hostel', 'ferry', 'valley', 'desert',
    'lake', 'tour', 'souvenir', 'journey', 'route', 'camp', 'cabin',
  ],
  // software
  [
    'code', 'software', 'server', 'database', 'bug', 'test', 'deploy', 'release', 'api',
    'function', 'query', 'index', 'cache', 'network', 'latency', 'memory', 'compiler', 'library',
    'framework', 'script', 'terminal', 'commit', 'branch', 'merge', 'review', 'design',
    'interface', 'module', 'service', 'queue', 'cluster', 'container', 'logging', 'refactor',
    'debugger', 'benchmark',
  ],
  // running and sport
  [
    'run', 'race', 'marathon', 'training', 'pace', 'mile', 'coach', 'team', 'match', 'goal',
    'score', 'ball', 'field', 'stadium', 'bike', 'swim', 'climb', 'stretch', 'muscle', 'injury',
    'recovery', 'sprint', 'trail', 'finish', 'medal', 'season', 'league', 'referee', 'tennis',
    'football', 'gym', 'workout', 'strength', 'endurance', 'shoe', 'lap',
  ],
  // music
  [
    'music', 'song', 'guitar', 'piano', 'band', 'concert', 'album', 'melody', 'rhythm', 'drum',
    'violin', 'chord', 'lyric', 'singer', 'stage', 'record', 'vinyl', 'jazz', 'choir', 'orchestra',
    'tempo', 'note', 'practice', 'tune', 'festival', 'studio', 'microphone', 'speaker', 'harmony',
    'bass', 'scale', 'composer', 'playlist', 'ballad', 'encore', 'solo',
  ],
  // money
  [
    'money', 'budget', 'saving', 'price', 'bank', 'loan', 'interest', 'rent', 'salary', 'tax',
    'invoice', 'payment', 'credit', 'debt', 'market', 'stock', 'fund', 'pension', 'expense',
    'income', 'receipt', 'wallet', 'coin', 'account', 'insurance', 'mortgage', 'discount', 'bill',
    'profit', 'cost', 'invest', 'dividend', 'bond', 'inflation', 'spend', 'cash',
  ],
  // science
  [
    'science', 'experiment', 'theory', 'data', 'planet', 'star', 'energy', 'atom', 'cell', 'gene',
    'climate', 'ocean', 'telescope', 'microscope', 'physics', 'chemistry', 'biology', 'evolution',
    'fossil', 'galaxy', 'orbit', 'gravity', 'molecule', 'protein', 'virus', 'laboratory',
    'hypothesis', 'measurement', 'sample', 'species', 'volcano', 'earthquake', 'magnet', 'crystal',
    'particle', 'comet',
  ],
  // home
  [
    'house', 'room', 'window', 'door', 'wall', 'paint', 'floor', 'roof', 'chair', 'table', 'lamp',
    'shelf', 'sofa', 'carpet', 'curtain', 'repair', 'tool', 'hammer', 'drill', 'nail', 'tile',
    'stair', 'attic', 'cellar', 'heater', 'pipe', 'light', 'bedroom', 'bathroom', 'balcony',
    'fence', 'gate', 'mirror', 'cupboard', 'drawer', 'clean',
  ],
  // books
  [
    'book', 'novel', 'chapter', 'author', 'poem', 'poetry', 'page', 'library', 'character', 'plot',
    'reader', 'fiction', 'history', 'biography', 'essay', 'publisher', 'edition', 'mystery',
    'fantasy', 'romance', 'thriller', 'classic', 'narrator', 'sentence', 'verse', 'bookshop',
    'shelf', 'paperback', 'translation', 'journal', 'diary', 'letter', 'myth', 'legend', 'fable',
    'saga',
  ],
];

/** The most drawn words of each topic: what the search benchmark asks for. */
export function commonTopicWords(perTopic = 8): string[] {
  return TOPICS.flatMap((words) => words.slice(0, perTopic));
}
