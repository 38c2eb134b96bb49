/**
 * ISO 4217 alpha-3 codes in current use, with their minor-unit exponent. The exponent only matters for
 * display (receipts); amounts travel as integers in minor units everywhere.
 */
const exponentTwo = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD
CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG
HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MRU MUR MVR MWN
MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE
SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL`;
const exponentZero = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF';
const exponentThree = 'BHD IQD JOD KWD LYD OMR TND';

const exponents = new Map<string, number>();
for (const [list, exponent] of [
  [exponentTwo, 2],
  [exponentZero, 0],
  [exponentThree, 3],
] as const) {
  for (const code of list.split(/\s+/)) if (code) exponents.set(code, exponent);
}

export function isKnownCurrency(code: string): boolean {
  return exponents.has(code);
}

export function currencyExponent(code: string): number {
  return exponents.get(code) ?? 2;
}

/** "1234" EUR → "12.34"; for display only. */
export function formatMinorUnits(minorUnits: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === 0) return String(minorUnits);
  const sign = minorUnits < 0 ? '-' : '';
  const digits = String(Math.abs(minorUnits)).padStart(exponent + 1, '0');
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
