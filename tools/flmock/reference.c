/*
 * reference.c — the fixed reference tables every world shares: currencies,
 * job categories, jobs (skills) and countries.  Ids and the USD/AUD/IDR rows
 * follow the reference's examples; the rest are plausible fill.
 */
#include "world.h"

const struct currency ref_currencies[] = {
	{ 1, "USD", "US Dollar", "US", "$", 1 },
	{ 2, "NZD", "New Zealand Dollar", "NZ", "$", 0.59 },
	{ 3, "AUD", "Australian Dollar", "AU", "$", 0.66 },
	{ 4, "GBP", "British Pounds", "UK", "\xc2\xa3", 1.27 },
	{ 5, "HKD", "HK Dollar", "HK", "$", 0.128 },
	{ 6, "SGD", "Singapore Dollar", "SG", "$", 0.74 },
	{ 8, "EUR", "Euro", "EU", "\xe2\x82\xac", 1.08 },
	{ 9, "CAD", "Canadian Dollar", "CA", "$", 0.73 },
	{ 11, "INR", "Indian Rupee", "IN", "\xe2\x82\xb9", 0.012 },
	{ 15, "IDR", "Indonesian Rupiah", "ID", "Rp", 0.000087 },
	{ 18, "JPY", "Japanese Yen", "JP", "\xc2\xa5", 0.0067 },
};
const size_t ref_ncurrencies = sizeof ref_currencies / sizeof ref_currencies[0];

const struct category ref_categories[] = {
	{ 1, "Websites, IT & Software" },
	{ 2, "Mobile Phones & Computing" },
	{ 3, "Writing & Content" },
	{ 4, "Design, Media & Architecture" },
	{ 5, "Data Entry & Admin" },
	{ 6, "Engineering & Science" },
	{ 7, "Sales & Marketing" },
	{ 8, "Translation & Languages" },
};
const size_t ref_ncategories = sizeof ref_categories / sizeof ref_categories[0];

const struct job ref_jobs[] = {
	{ 3, "PHP", "php", 1 },
	{ 7, "Java", "java", 1 },
	{ 9, "Javascript", "javascript", 1 },
	{ 13, "Python", "python", 1 },
	{ 17, "Website Design", "website-design", 1 },
	{ 20, "Graphic Design", "graphic-design", 4 },
	{ 31, "C Programming", "c-programming", 1 },
	{ 32, "Logo Design", "logo-design", 4 },
	{ 35, "Data Entry", "data-entry", 5 },
	{ 44, "Article Writing", "article-writing", 3 },
	{ 54, "Android", "android", 2 },
	{ 59, "iPhone", "iphone", 2 },
	{ 61, "Linux", "linux", 1 },
	{ 69, "SQL", "sql", 1 },
	{ 77, "Translation", "translation", 8 },
	{ 95, "Excel", "excel", 5 },
	{ 106, "Illustration", "illustration", 4 },
	{ 113, "Copywriting", "copywriting", 3 },
	{ 115, "Internet Marketing", "internet-marketing", 7 },
	{ 138, "Electrical Engineering", "electrical-engineering", 6 },
	{ 197, "Mechanical Engineering", "mechanical-engineering", 6 },
	{ 292, "SEO", "seo", 7 },
	{ 305, "Video Editing", "video-editing", 4 },
	{ 335, "HTML", "html", 1 },
	{ 500, "Node.js", "nodejs", 1 },
	{ 613, "Rust", "rust", 1 },
	{ 701, "Japanese Translator", "japanese-translator", 8 },
	{ 759, "Machine Learning (ML)", "machine-learning", 6 },
	/* Last, and never drawn: the official SDK adds it to every hire-me project. */
	{ REF_JOB_HIREME, "Hire Me", "hire-me", 1 },
};
const size_t ref_njobs = sizeof ref_jobs / sizeof ref_jobs[0];
const size_t ref_njobs_drawn = sizeof ref_jobs / sizeof ref_jobs[0] - 1;

const struct country ref_countries[] = {
	{ "Australia", "au", "Dubbo", -32.2569, 148.6011 },
	{ "United States", "us", "New York", 40.7128, -74.006 },
	{ "India", "in", "Bengaluru", 12.9716, 77.5946 },
	{ "United Kingdom", "gb", "London", 51.5072, -0.1276 },
	{ "Germany", "de", "M\xc3\xbcnchen", 48.1351, 11.582 },
	{ "France", "fr", "Besan\xc3\xa7on", 47.2378, 6.0241 },
	{ "Japan", "jp", "\xe6\x9d\xb1\xe4\xba\xac", 35.6762, 139.6503 },
	{ "Brazil", "br", "S\xc3\xa3o Paulo", -23.5558, -46.6396 },
	{ "Pakistan", "pk", "Lahore", 31.5204, 74.3587 },
	{ "Philippines", "ph", "Manila", 14.5995, 120.9842 },
	{ "Ukraine", "ua", "\xd0\x9a\xd0\xb8\xd1\x97\xd0\xb2", 50.4501, 30.5234 },
	{ "Egypt", "eg", "\xd8\xa7\xd9\x84\xd9\x82\xd8\xa7\xd9\x87\xd8\xb1\xd8\xa9", 30.0444, 31.2357 },
	{ "Canada", "ca", "Montr\xc3\xa9" "al", 45.5019, -73.5674 },
	{ "Indonesia", "id", "Jakarta", -6.2088, 106.8456 },
	{ "Spain", "es", "A Coru\xc3\xb1" "a", 43.3623, -8.4115 },
	{ "New Zealand", "nz", "Auckland", -36.8485, 174.7633 },
};
const size_t ref_ncountries = sizeof ref_countries / sizeof ref_countries[0];

const struct currency *ref_currency(int id)
{
	size_t i;

	for (i = 0; i < ref_ncurrencies; i++)
		if (ref_currencies[i].id == id)
			return &ref_currencies[i];
	return NULL;
}

const struct job *ref_job(int id)
{
	size_t i;

	for (i = 0; i < ref_njobs; i++)
		if (ref_jobs[i].id == id)
			return &ref_jobs[i];
	return NULL;
}

const struct category *ref_category(int id)
{
	size_t i;

	for (i = 0; i < ref_ncategories; i++)
		if (ref_categories[i].id == id)
			return &ref_categories[i];
	return NULL;
}
