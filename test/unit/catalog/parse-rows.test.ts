/**
 * The catalog parser's one-line fast path and the per-query row filter: neither may change what a query lists.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalogOffers, rowFilter } from '../../../src/core/catalog/offers.js';
import { csvRecords, parseCatalogCsv } from '../../../src/core/catalog/parse.js';
import { parseOfferQuery } from '../../../src/core/catalog/query.js';
import type { OfferFilters } from '../../../src/core/catalog/types.js';

const records = (text: string) => [...csvRecords(text)].map((r) => [r.line, r.fields]);

describe('csvRecords', () => {
  it('splits plain lines and quoted records alike, with the line each starts on', () => {
    expect(records('a,b\r\nc,,d\n\n"x,1","q""uote"\n,\n')).toEqual([
      [1, ['a', 'b']],
      [2, ['c', '', 'd']],
      [4, ['x,1', 'q"uote']],
      [5, ['', '']],
    ]);
  });

  it('counts the lines of a field that spans them, and ends a record at a bare CR', () => {
    expect(records('"multi\nline",z\nnext\rafter\nlast')).toEqual([
      [1, ['multi\nline', 'z']],
      [3, ['next']],
      [4, ['after']],
      [5, ['last']],
    ]);
  });

  it('still rejects a quote inside an unquoted field, naming its line', () => {
    const csv = 'instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data\nt3.large,us-east-1,0.1,2,8,0,,,False,,,,x86,\nbad"row,us-east-1,0.1,2,8,0,,,False,,,,x86,\n';
    expect(() => parseCatalogCsv(csv, 'aws', { date: 'd', source: 'test.csv' })).toThrow(/test\.csv:3: a quote inside an unquoted field/);
  });
});

const shipped = (provider: string) => readFileSync(new URL(`../../../catalog/${provider}.csv`, import.meta.url), 'utf8');
const filtersOf = (q: string): OfferFilters => parseOfferQuery(new URLSearchParams(q)).filters;

describe('rowFilter', () => {
  const queries = [
    '', 'spot_policy=spot', 'spot_policy=auto', 'max_price=1.5', 'gpu=A100', 'gpu=24GB..', 'gpu=0', 'gpu=0..1&cpu=8..',
    'instance_type=P4D.24xlarge&spot_policy=auto', 'gpu=A100&max_price=30&spot_policy=spot', 'cpu=arm:2..', 'region=us-central1&gpu=L4',
  ];
  for (const provider of ['aws', 'gcp']) {
    it.each(queries)(`${provider}: parsing only the rows kept lists the same offers (%s)`, (q) => {
      const filters = filtersOf(q);
      const whole = parseCatalogCsv(shipped(provider), provider, { date: 'd', source: 's' });
      const cut = parseCatalogCsv(shipped(provider), provider, { date: 'd', source: 's', keep: rowFilter(filters) });
      expect(catalogOffers([cut], filters)).toEqual(catalogOffers([whole], filters));
      if (q !== '' && q !== 'spot_policy=auto' && q !== 'cpu=arm:2..' && q !== 'gpu=0..1&cpu=8..') expect(cut.items.length).toBeLessThan(whole.items.length);
    });
  }

  it('keeps a row whose filtered field it cannot read, so the row still fails to parse', () => {
    const header = 'instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data';
    const keep = rowFilter(filtersOf('max_price=1&gpu=1'));
    for (const row of ['g5.xlarge,us-east-1,0.5,4,16,1,A10G,24,Maybe,,,,x86,', 'g5.xlarge,us-east-1,cheap,4,16,1,A10G,24,False,,,,x86,', 'g5.xlarge,us-east-1,0.5,4,16,one,A10G,24,False,,,,x86,']) {
      expect(() => parseCatalogCsv(`${header}\n${row}\n`, 'aws', { date: 'd', source: 'x.csv', keep })).toThrow(/x\.csv:2: /);
    }
  });
});
