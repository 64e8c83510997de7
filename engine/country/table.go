package country

// isoTable is ISO 3166-1: one country per line, "alpha-2 alpha-3 English
// short name", followed by "|"-separated alternative names (UN and OFAC
// spellings, common English forms). Names are matched after normalisation
// (see key), so case, diacritics and punctuation need not be repeated here.
const isoTable = `
AF AFG Afghanistan|Islamic Republic of Afghanistan|Islamic Emirate of Afghanistan
AX ALA Aland Islands
AL ALB Albania
DZ DZA Algeria
AS ASM American Samoa
AD AND Andorra
AO AGO Angola
AI AIA Anguilla
AQ ATA Antarctica
AG ATG Antigua and Barbuda
AR ARG Argentina
AM ARM Armenia
AW ABW Aruba
AU AUS Australia
AT AUT Austria
AZ AZE Azerbaijan
BS BHS Bahamas|The Bahamas|Bahamas, The
BH BHR Bahrain
BD BGD Bangladesh
BB BRB Barbados
BY BLR Belarus|Byelorussia
BE BEL Belgium
BZ BLZ Belize
BJ BEN Benin
BM BMU Bermuda
BT BTN Bhutan
BO BOL Bolivia|Bolivia (Plurinational State of)|Plurinational State of Bolivia
BQ BES Bonaire, Sint Eustatius and Saba|Caribbean Netherlands
BA BIH Bosnia and Herzegovina|Bosnia-Herzegovina|Bosnia
BW BWA Botswana
BV BVT Bouvet Island
BR BRA Brazil
IO IOT British Indian Ocean Territory
BN BRN Brunei Darussalam|Brunei
BG BGR Bulgaria
BF BFA Burkina Faso
BI BDI Burundi
CV CPV Cabo Verde|Cape Verde
KH KHM Cambodia
CM CMR Cameroon
CA CAN Canada
KY CYM Cayman Islands
CF CAF Central African Republic
TD TCD Chad
CL CHL Chile
CN CHN China|People's Republic of China|China, People's Republic of
CX CXR Christmas Island
CC CCK Cocos (Keeling) Islands|Cocos Islands
CO COL Colombia
KM COM Comoros
CG COG Congo|Republic of the Congo|Congo, Republic of the|Congo-Brazzaville|Congo (Brazzaville)
CD COD Democratic Republic of the Congo|Congo, Democratic Republic of the|Congo, The Democratic Republic of the|DR Congo|DRC|Congo-Kinshasa|Congo (Kinshasa)|Zaire
CK COK Cook Islands
CR CRI Costa Rica
CI CIV Cote d'Ivoire|Ivory Coast
HR HRV Croatia
CU CUB Cuba
CW CUW Curacao
CY CYP Cyprus
CZ CZE Czechia|Czech Republic
DK DNK Denmark
DJ DJI Djibouti
DM DMA Dominica
DO DOM Dominican Republic
EC ECU Ecuador
EG EGY Egypt
SV SLV El Salvador
GQ GNQ Equatorial Guinea
ER ERI Eritrea
EE EST Estonia
SZ SWZ Eswatini|Swaziland
ET ETH Ethiopia
FK FLK Falkland Islands (Malvinas)|Falkland Islands
FO FRO Faroe Islands
FJ FJI Fiji
FI FIN Finland
FR FRA France
GF GUF French Guiana
PF PYF French Polynesia
TF ATF French Southern Territories
GA GAB Gabon
GM GMB Gambia|The Gambia|Gambia, The
GE GEO Georgia
DE DEU Germany|Federal Republic of Germany
GH GHA Ghana
GI GIB Gibraltar
GR GRC Greece
GL GRL Greenland
GD GRD Grenada
GP GLP Guadeloupe
GU GUM Guam
GT GTM Guatemala
GG GGY Guernsey
GN GIN Guinea
GW GNB Guinea-Bissau
GY GUY Guyana
HT HTI Haiti
HM HMD Heard Island and McDonald Islands
VA VAT Holy See|Vatican|Vatican City
HN HND Honduras
HK HKG Hong Kong|Hong Kong SAR|China, Hong Kong Special Administrative Region
HU HUN Hungary
IS ISL Iceland
IN IND India
ID IDN Indonesia
IR IRN Iran|Iran (Islamic Republic of)|Islamic Republic of Iran|Iran, Islamic Republic of
IQ IRQ Iraq
IE IRL Ireland
IM IMN Isle of Man|Man, Isle of
IL ISR Israel
IT ITA Italy
JM JAM Jamaica
JP JPN Japan
JE JEY Jersey
JO JOR Jordan
KZ KAZ Kazakhstan
KE KEN Kenya
KI KIR Kiribati
KP PRK North Korea|Korea, North|Democratic People's Republic of Korea|Korea, Democratic People's Republic of|DPRK|Korea (Democratic People's Republic of)
KR KOR South Korea|Korea, South|Republic of Korea|Korea, Republic of|Korea (Republic of)
KW KWT Kuwait
KG KGZ Kyrgyzstan|Kyrgyz Republic
LA LAO Laos|Lao People's Democratic Republic|Lao PDR
LV LVA Latvia
LB LBN Lebanon
LS LSO Lesotho
LR LBR Liberia
LY LBY Libya|Libyan Arab Jamahiriya
LI LIE Liechtenstein
LT LTU Lithuania
LU LUX Luxembourg
MO MAC Macao|Macau|China, Macao Special Administrative Region
MG MDG Madagascar
MW MWI Malawi
MY MYS Malaysia
MV MDV Maldives
ML MLI Mali
MT MLT Malta
MH MHL Marshall Islands
MQ MTQ Martinique
MR MRT Mauritania
MU MUS Mauritius
YT MYT Mayotte
MX MEX Mexico
FM FSM Micronesia|Micronesia (Federated States of)|Micronesia, Federated States of
MD MDA Moldova|Republic of Moldova|Moldova, Republic of
MC MCO Monaco
MN MNG Mongolia
ME MNE Montenegro
MS MSR Montserrat
MA MAR Morocco
MZ MOZ Mozambique
MM MMR Myanmar|Burma
NA NAM Namibia
NR NRU Nauru
NP NPL Nepal
NL NLD Netherlands|Kingdom of the Netherlands|Netherlands (Kingdom of the)|Holland
NC NCL New Caledonia
NZ NZL New Zealand
NI NIC Nicaragua
NE NER Niger
NG NGA Nigeria
NU NIU Niue
NF NFK Norfolk Island
MK MKD North Macedonia|Macedonia|Republic of North Macedonia|Macedonia, The Former Yugoslav Republic of|The former Yugoslav Republic of Macedonia|Former Yugoslav Republic of Macedonia
MP MNP Northern Mariana Islands
NO NOR Norway
OM OMN Oman
PK PAK Pakistan
PW PLW Palau
PS PSE Palestine|State of Palestine|Palestine, State of|Palestinian|Palestinian Territories|Occupied Palestinian Territory|West Bank|Gaza|Gaza Strip|West Bank and Gaza
PA PAN Panama
PG PNG Papua New Guinea
PY PRY Paraguay
PE PER Peru
PH PHL Philippines
PN PCN Pitcairn|Pitcairn Islands
PL POL Poland
PT PRT Portugal
PR PRI Puerto Rico
QA QAT Qatar
RE REU Reunion
RO ROU Romania
RU RUS Russia|Russian Federation
RW RWA Rwanda
BL BLM Saint Barthelemy
SH SHN Saint Helena, Ascension and Tristan da Cunha|Saint Helena
KN KNA Saint Kitts and Nevis|St. Kitts and Nevis
LC LCA Saint Lucia|St. Lucia
MF MAF Saint Martin (French part)|Saint Martin
PM SPM Saint Pierre and Miquelon
VC VCT Saint Vincent and the Grenadines|St. Vincent and the Grenadines
WS WSM Samoa
SM SMR San Marino
ST STP Sao Tome and Principe
SA SAU Saudi Arabia|Kingdom of Saudi Arabia
SN SEN Senegal
RS SRB Serbia|Republic of Serbia
SC SYC Seychelles
SL SLE Sierra Leone
SG SGP Singapore
SX SXM Sint Maarten (Dutch part)|Sint Maarten
SK SVK Slovakia|Slovak Republic
SI SVN Slovenia
SB SLB Solomon Islands
SO SOM Somalia
ZA ZAF South Africa
GS SGS South Georgia and the South Sandwich Islands
SS SSD South Sudan
ES ESP Spain
LK LKA Sri Lanka
SD SDN Sudan
SR SUR Suriname
SJ SJM Svalbard and Jan Mayen
SE SWE Sweden
CH CHE Switzerland
SY SYR Syria|Syrian Arab Republic
TW TWN Taiwan|Taiwan, Province of China|Republic of China
TJ TJK Tajikistan
TZ TZA Tanzania|United Republic of Tanzania|Tanzania, United Republic of
TH THA Thailand
TL TLS Timor-Leste|East Timor
TG TGO Togo
TK TKL Tokelau
TO TON Tonga
TT TTO Trinidad and Tobago
TN TUN Tunisia
TR TUR Turkiye|Turkey|Republic of Turkiye
TM TKM Turkmenistan
TC TCA Turks and Caicos Islands
TV TUV Tuvalu
UG UGA Uganda
UA UKR Ukraine
AE ARE United Arab Emirates|UAE
GB GBR United Kingdom|United Kingdom of Great Britain and Northern Ireland|Great Britain|Britain|UK
UM UMI United States Minor Outlying Islands
US USA United States|United States of America|USA|U.S.A.
UY URY Uruguay
UZ UZB Uzbekistan
VU VUT Vanuatu
VE VEN Venezuela|Venezuela (Bolivarian Republic of)|Bolivarian Republic of Venezuela
VN VNM Viet Nam|Vietnam
VG VGB British Virgin Islands|Virgin Islands, British|Virgin Islands (British)
VI VIR United States Virgin Islands|Virgin Islands, U.S.|Virgin Islands (U.S.)|U.S. Virgin Islands
WF WLF Wallis and Futuna
EH ESH Western Sahara
YE YEM Yemen
ZM ZMB Zambia
ZW ZWE Zimbabwe
XK XKX Kosovo|Republic of Kosovo
`

// extraCodes are codes outside the ISO 3166-1 list that travel documents
// (ICAO Doc 9303) and lists use, each with what it stands for. Alpha3
// returns them as they are unless a mapping to a country is given.
const extraCodes = `
D DEU ICAO code for Germany on German documents
GBD GBR British Overseas Territories Citizen
GBN GBR British National (Overseas)
GBO GBR British Overseas Citizen
GBP GBR British Protected Person
GBS GBR British Subject
RKS XKX Kosovo (ICAO)
UNO UNO United Nations Organization or one of its officials
UNA UNA United Nations specialized agency or one of its officials
UNK UNK Resident of Kosovo to whom a travel document was issued by UNMIK
XXA XXA Stateless person|Stateless
XXB XXB Refugee (1951 Convention)|Refugee
XXC XXC Refugee (other)
XXX XXX Unspecified nationality|Unspecified
EUE EUE European Union
XOM XOM Sovereign Military Order of Malta
XPO XPO Interpol
XBA XBA African Development Bank
XIM XIM African Export-Import Bank
XCC XCC Caribbean Community
XCE XCE Council of Europe
XEC XEC Economic Community of West African States
XES XES Organisation of Eastern Caribbean States
XCO XCO Common Market for Eastern and Southern Africa
XDC XDC Southern African Development Community
SUN SUN Soviet Union|USSR|Former Soviet Union|Union of Soviet Socialist Republics
YUG YUG Yugoslavia|Former Yugoslavia|Federal Republic of Yugoslavia
SCG SCG Serbia and Montenegro
CSK CSK Czechoslovakia
ANT ANT Netherlands Antilles
DDR DDR German Democratic Republic|East Germany
`
