import { mulberry32 } from "@quire/devcloud";

/**
 * Generated documents of realistic length (3–8 KB, ~1–2k tokens): leases, invoices, letters,
 * policies and court filings assembled from clauses by a seeded PRNG, each with its own
 * reference, so no two share a content key (the result cache must not make the run cheap).
 */
const PARTIES = [
  "Harbour Row Holdings Ltd",
  "Okafor & Partners LLP",
  "Northwind Freight GmbH",
  "Meridian Health Trust",
  "Calder Logistics plc",
  "Ada Lovelace",
  "Grace Hopper",
  "Juniper Analytics Inc",
  "Vale Municipal Council",
  "Brightwater Estates",
];
const KINDS = {
  lease: {
    title: (ref: string) => `Commercial Lease Agreement ${ref}`,
    opening: (a: string, b: string) =>
      `This Commercial Lease Agreement is made between ${a} (the Landlord) and ${b} (the Tenant) for the premises described below.`,
    clauses: [
      "The Tenant shall pay the monthly rent in advance on the first day of each month, without deduction or set-off.",
      "The term of the tenancy is five years from the commencement date, with an option to renew for a further three years.",
      "The Tenant shall keep the interior of the premises in good repair and condition, fair wear and tear excepted.",
      "The Landlord shall insure the building against fire, flood and other insured risks and recover the premium as a service charge.",
      "Rent shall be reviewed on each third anniversary of the commencement date by reference to the open market rent.",
      "The Tenant may not assign or underlet the whole or any part of the premises without the prior written consent of the Landlord.",
      "A deposit equal to three months' rent is held by the Landlord as security for the Tenant's obligations under this lease.",
    ],
  },
  invoice: {
    title: (ref: string) => `Invoice ${ref}`,
    opening: (a: string, b: string) =>
      `INVOICE issued by ${a} to ${b}. Payment terms: net 30 days; amount due upon receipt of this invoice.`,
    clauses: [
      "Line item: road freight, full truck load, including fuel surcharge and tolls, per the agreed rate card.",
      "Line item: warehousing and handling for pallets received during the billing period.",
      "Line item: customs clearance and documentation fees for the consignments listed in the annex.",
      "Late payments accrue interest at the statutory rate from the due date until payment in full.",
      "Please quote the invoice number with your remittance; bank details are printed below the total.",
      "VAT is charged at the standard rate on all taxable supplies listed on this invoice.",
    ],
  },
  letter: {
    title: (ref: string) => `Letter re matter ${ref}`,
    opening: (a: string, b: string) =>
      `Dear ${b}, we write on behalf of ${a} in connection with the matter referenced above.`,
    clauses: [
      "We acknowledge receipt of your letter and the enclosed documents, which we are reviewing with our client.",
      "Our client is keen to resolve this matter without recourse to litigation and invites you to a without-prejudice meeting.",
      "Please let us have your proposals for settlement within fourteen days of the date of this letter.",
      "We enclose a copy of the correspondence exchanged to date for your records.",
      "Should you have any questions, please do not hesitate to contact the writer directly.",
    ],
  },
  policy: {
    title: (ref: string) => `Remote Work Policy ${ref}`,
    opening: (a: string) =>
      `This policy sets out how employees of ${a} may work remotely and the standards that apply.`,
    clauses: [
      "Employees may work remotely up to three days per week with the agreement of their line manager.",
      "Company equipment must be used for all work and kept secure at all times, in line with the information security policy.",
      "Employees remain subject to the working time rules and must record their hours accurately.",
      "This policy is reviewed annually by the people team and may be amended at any time.",
      "Expenses incurred while working remotely are reimbursed only where they have been approved in advance.",
    ],
  },
  filing: {
    title: (ref: string) => `Motion to Dismiss, Case No. ${ref}`,
    opening: (a: string, b: string) =>
      `IN THE DISTRICT COURT. ${a}, Plaintiff, v. ${b}, Defendant. Defendant moves the Court to dismiss the complaint.`,
    clauses: [
      "The complaint fails to state a claim upon which relief can be granted because it pleads no facts supporting the elements of the claim.",
      "The Court lacks personal jurisdiction over the Defendant, who has no continuous and systematic contacts with this forum.",
      "The claims are barred by the applicable statute of limitations, which expired before the complaint was filed.",
      "For the foregoing reasons, the Defendant respectfully requests that the Court dismiss the complaint with prejudice.",
      "A memorandum of points and authorities in support of this motion is filed herewith.",
    ],
  },
} as const;

export interface BenchDocument {
  text: string;
  title: string;
  metadata: { kind: string; bench: string };
}

export function generateDocuments(count: number, seed = 7, label = "bench"): BenchDocument[] {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const kinds = Object.keys(KINDS) as (keyof typeof KINDS)[];
  return Array.from({ length: count }, (_, i) => {
    const kind = kinds[i % kinds.length]!;
    const template = KINDS[kind];
    const ref = `${label.toUpperCase()}-${seed}-${String(i).padStart(6, "0")}`;
    const [a, b] = [pick(PARTIES), pick(PARTIES)];
    const target = 3000 + Math.floor(random() * 5000);
    const paragraphs = [template.opening(a, b), `Reference: ${ref}.`];
    let length = paragraphs.join("\n\n").length;
    for (let n = 1; length < target; n++) {
      const paragraph = `${n}. ${pick(template.clauses)} ${pick(template.clauses)}`;
      paragraphs.push(paragraph);
      length += paragraph.length + 2;
    }
    return { text: paragraphs.join("\n\n"), title: template.title(ref), metadata: { kind, bench: label } };
  });
}
