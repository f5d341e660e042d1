"""Hand-written words of the synthetic shop: category tree, brands, shopper personas, pairings.

The tables are compact text so the whole shop reads at a glance; they are parsed once at import.
Each leaf is three lines: ``path | median price | repeat cycle in days (or -)``, then
``nouns | adjectives`` and ``features | uses`` (items ``;``-separated).
"""

from __future__ import annotations

from dataclasses import dataclass

_LEAVES = """
Electronics > Cameras > Mirrorless Cameras | 900 | -
  mirrorless camera; interchangeable-lens camera | compact; full-frame; lightweight; retro
  24MP sensor; 4K video; in-body stabilisation; weather sealing | travel photography; vlogging
Electronics > Cameras > Action Cameras | 280 | -
  action camera; helmet camera | waterproof; rugged; ultra-wide; pocket
  5K video; image stabilisation; voice control; slow motion | cycling; diving; ski runs
Electronics > Cameras > Camera Lenses | 450 | -
  prime lens; zoom lens | fast; wide-angle; telephoto; portrait
  f/1.8 aperture; silent autofocus; optical stabilisation | portraits; wildlife; landscapes
Electronics > Audio > Wireless Headphones | 150 | -
  wireless headphones; over-ear headphones | noise-cancelling; foldable; studio; lightweight
  40-hour battery; active noise cancelling; multipoint Bluetooth | commuting; flights; focus
Electronics > Audio > Bluetooth Speakers | 80 | -
  Bluetooth speaker; portable speaker | waterproof; compact; rugged; party
  360-degree sound; 20-hour battery; deep bass; stereo pairing | beach days; parties; camping
Electronics > Computers > Laptops | 1000 | -
  laptop; ultrabook | thin; lightweight; professional; gaming
  16GB RAM; 1TB SSD; OLED display; all-day battery | work; study; video editing
Electronics > Computers > Computer Monitors | 250 | -
  monitor; 4K display | ultrawide; curved; colour-accurate; high-refresh
  27-inch IPS panel; USB-C input; 144Hz refresh; height-adjustable stand | home offices; design
Electronics > Wearables > GPS Sports Watches | 300 | -
  GPS watch; multisport watch | rugged; slim; solar; lightweight
  heart-rate monitor; route navigation; 14-day battery; training plans | running; triathlon
Electronics > Printers > Laser Printers | 220 | -
  laser printer; mono laser printer | compact; fast; wireless; duplex
  30 pages per minute; auto duplex; Wi-Fi printing; 250-sheet tray | home offices; small teams
Electronics > Portable Power > Power Banks | 40 | -
  power bank; portable charger | slim; high-capacity; rugged; solar
  20000mAh cell; USB-C fast charge; two outputs | travel; camping trips; festivals
Electronics > Gaming > Game Consoles | 450 | -
  game console; gaming console | next-gen; compact; digital; handheld
  1TB storage; 4K gaming; ray tracing; online multiplayer | family game nights; solo gaming

Home & Kitchen > Coffee & Tea Makers > Espresso Machines | 400 | -
  espresso machine; bean-to-cup machine | stainless; barista; compact; dual-boiler
  15-bar pump; milk frother; built-in grinder; PID temperature control | home baristas; lattes
Home & Kitchen > Coffee & Tea Makers > Coffee Grinders | 120 | -
  coffee grinder; burr grinder | conical; electric; manual; precise
  40 grind settings; steel burrs; timed dosing | espresso; pour-over; French press
Home & Kitchen > Cookware > Frying Pans | 45 | -
  frying pan; skillet | non-stick; cast-iron; induction-ready; deep
  28cm diameter; oven-safe handle; PFOA-free coating | searing; omelettes; stir-fries
Home & Kitchen > Cookware > Dutch Ovens | 90 | -
  Dutch oven; casserole pot | enamelled; cast-iron; heavy; round
  5-litre capacity; self-basting lid; oven-safe to 250C | bread baking; stews; slow braising
Home & Kitchen > Small Appliances > Blenders | 90 | -
  blender; smoothie blender | high-speed; personal; powerful; quiet
  1200W motor; to-go cups; pulse function; ice crushing | smoothies; soups; protein shakes
Home & Kitchen > Small Appliances > Stand Mixers | 350 | -
  stand mixer; kitchen mixer | tilt-head; retro; professional; heavy-duty
  5-litre bowl; dough hook; 10 speeds; planetary mixing | bread dough; cakes; cookies
Home & Kitchen > Bedding > Duvets | 110 | -
  duvet; quilt | all-season; down; hypoallergenic; lightweight
  tog 10.5 filling; cotton cover; machine washable | restful sleep; winter nights
Home & Kitchen > Bedding > Pillows | 40 | -
  pillow; memory foam pillow | orthopaedic; soft; cooling; firm
  contour shape; bamboo cover; adjustable fill | side sleepers; neck support
Home & Kitchen > Cleaning > Robot Vacuums | 350 | -
  robot vacuum; robot hoover | smart; slim; self-emptying; quiet
  lidar mapping; app control; mopping pad; 150-minute runtime | pet hair; hard floors

Grocery > Coffee & Tea > Coffee Beans | 14 | 14
  coffee beans; whole bean coffee | single-origin; dark-roast; organic; fair-trade
  1kg bag; chocolate notes; medium roast; freshly roasted | espresso; filter coffee
Grocery > Coffee & Tea > Loose Leaf Tea | 10 | 21
  loose leaf tea; green tea | organic; smoky; herbal; premium
  100g tin; hand-picked leaves; jasmine aroma | afternoon tea; calm evenings
Grocery > Snacks > Energy Bars | 20 | 10
  energy bar; protein bar | vegan; high-protein; oat; gluten-free
  box of 12; 20g protein; no added sugar | long rides; hikes; workouts
Grocery > Snacks > Trail Mix | 9 | 14
  trail mix; nut mix | salted; roasted; fruity; organic
  500g pouch; cashews and raisins; resealable bag | trekking; office snacking
Grocery > Health Foods > Protein Powder | 35 | 21
  protein powder; whey protein | chocolate; vanilla; plant-based; unflavoured
  1kg tub; 25g protein per scoop; added BCAAs | muscle recovery; smoothies
Grocery > Baking Supplies > Baking Flour | 6 | 21
  bread flour; baking flour | strong; stoneground; organic; wholemeal
  1.5kg bag; high protein; unbleached | sourdough; pizza dough; cakes
Grocery > Pantry > Olive Oil | 15 | 28
  olive oil; extra virgin olive oil | cold-pressed; peppery; Italian; organic
  750ml bottle; early harvest; single estate | salads; cooking; dipping bread

Outdoor > Camping > Tents | 250 | -
  tent; dome tent | 2-person; ultralight; waterproof; family
  3000mm hydrostatic head; freestanding frame; two porches | backpacking; festivals; camping
Outdoor > Camping > Sleeping Bags | 120 | -
  sleeping bag; mummy bag | down; synthetic; three-season; compact
  comfort rating -5C; compression sack; two-way zip | alpine camping; cold nights
Outdoor > Camping > Camping Stoves | 70 | -
  camping stove; gas stove | compact; folding; windproof; lightweight
  piezo ignition; 3kW burner; pan supports | backcountry cooking; camp coffee
Outdoor > Hiking > Hiking Backpacks | 140 | -
  hiking backpack; trekking rucksack | 40-litre; ventilated; lightweight; waterproof
  hip belt; rain cover; hydration sleeve | day hikes; multi-day treks
Outdoor > Hiking > Trekking Poles | 60 | -
  trekking poles; hiking poles | carbon; telescopic; folding; ultralight
  cork grips; quick locks; tungsten tips | steep descents; alpine trails
Outdoor > Lighting > Headlamps | 35 | -
  headlamp; head torch | rechargeable; bright; waterproof; lightweight
  400 lumens; red light mode; USB charging | night hikes; trail running; camping
Outdoor > Lighting > Lanterns | 40 | -
  camping lantern; LED lantern | collapsible; solar; dimmable; rugged
  warm light; 50-hour runtime; hanging hook | tents; power cuts; garden evenings
Outdoor > Water Sports > Kayaks | 700 | -
  kayak; touring kayak | inflatable; sit-on-top; stable; lightweight
  adjustable seat; dry storage; tracking fin | lakes; sea touring; fishing
Outdoor > Fishing > Fishing Rods | 90 | -
  fishing rod; spinning rod | telescopic; carbon; travel; sensitive
  2.4m length; cork handle; four sections | river fishing; lure fishing

Sports & Fitness > Running > Running Shoes | 120 | -
  running shoes; trainers | cushioned; lightweight; responsive; trail
  carbon plate; breathable mesh; 8mm drop | marathons; daily runs; trails
Sports & Fitness > Cycling > Road Bikes | 1500 | -
  road bike; racing bike | carbon; aero; endurance; lightweight
  22-speed groupset; disc brakes; tubeless wheels | sportives; racing; commuting
Sports & Fitness > Cycling > Bike Helmets | 80 | -
  bike helmet; cycling helmet | aero; ventilated; MIPS; lightweight
  adjustable cradle; 18 vents; rear light | road cycling; commuting
Sports & Fitness > Fitness Equipment > Dumbbells | 70 | -
  dumbbells; adjustable dumbbells | hex; rubber; adjustable; compact
  2-24kg range; quick-change dial; knurled handle | home workouts; strength training
Sports & Fitness > Fitness Equipment > Yoga Mats | 35 | -
  yoga mat; exercise mat | non-slip; thick; eco-friendly; travel
  6mm cushioning; natural rubber; carry strap | yoga; pilates; stretching
Sports & Fitness > Team Sports > Footballs | 25 | -
  football; match ball | FIFA-quality; training; durable; size-5
  thermo-bonded panels; butyl bladder | matches; training sessions
Sports & Fitness > Racket Sports > Tennis Rackets | 130 | -
  tennis racket; tennis racquet | graphite; control; power; lightweight
  100 sq in head; 300g frame; 16x19 string pattern | baseline play; club matches

Beauty & Personal Care > Hair Care > Shampoo | 9 | 28
  shampoo; hair wash | sulfate-free; volumising; moisturising; herbal
  400ml bottle; argan oil; salon formula | daily washing; dry hair; curls
Beauty & Personal Care > Hair Care > Hair Dryers | 80 | -
  hair dryer; blow dryer | ionic; professional; travel; quiet
  2200W motor; diffuser nozzle; cool shot | fast styling; salon blowouts
Beauty & Personal Care > Skin Care > Moisturisers | 25 | 30
  moisturiser; face cream | hydrating; lightweight; fragrance-free; night
  hyaluronic acid; SPF 15; 50ml jar | dry skin; daily care
Beauty & Personal Care > Skin Care > Sunscreen | 15 | 21
  sunscreen; sun cream | SPF 50; water-resistant; mineral; sensitive
  broad-spectrum UVA/UVB; 200ml tube; reef-safe formula | beach days; sports; hiking
Beauty & Personal Care > Fragrance > Eau de Parfum | 75 | -
  eau de parfum; perfume | floral; woody; fresh; oriental
  50ml spray; long-lasting scent; notes of vanilla | evenings; gifts; everyday wear
Beauty & Personal Care > Makeup > Lipstick | 18 | -
  lipstick; lip colour | matte; satin; long-wear; nude
  vitamin E; creamy finish; transfer-proof | everyday looks; parties
Beauty & Personal Care > Shaving > Electric Shavers | 120 | -
  electric shaver; rotary shaver | wet-and-dry; cordless; precise; travel
  flexing heads; 60-minute battery; cleaning station | daily shaving; sensitive skin

Books > Fiction > Crime Novels | 12 | -
  crime novel; detective thriller | gripping; Nordic; bestselling; twisty
  paperback edition; first in series | commutes; holidays; book clubs
Books > Fiction > Science Fiction Novels | 13 | -
  science fiction novel; space opera | epic; award-winning; dystopian; classic
  paperback edition; galactic empire; first contact | weekends; long flights
Books > Non-Fiction > Cookbooks | 25 | -
  cookbook; recipe book | seasonal; vegetarian; Italian; illustrated
  100 recipes; step-by-step photos; hardback | weeknight dinners; home cooks
Books > Non-Fiction > Travel Guides | 18 | -
  travel guide; guidebook | pocket; illustrated; updated; hiking
  fold-out maps; walking routes; local tips | city breaks; road trips; hikes
Books > Hobbies > Photography Books | 30 | -
  photography book; photo guide | practical; illustrated; beginner; masterclass
  composition lessons; camera settings explained | new photographers
Books > Children's Books > Picture Books | 10 | -
  picture book; children's story | bedtime; illustrated; rhyming; funny
  hardback edition; ages 3-6; lift-the-flap pages | bedtime reading; nursery

Fashion > Bags > Camera Bags | 70 | -
  camera bag; camera sling | padded; weatherproof; vintage; compact
  modular dividers; quick-access zip; lens pockets | photo walks; travel
Fashion > Bags > Laptop Backpacks | 60 | -
  laptop backpack; commuter backpack | slim; anti-theft; water-resistant; minimalist
  padded 16-inch sleeve; USB port; luggage strap | commuting; business trips
Fashion > Outerwear > Rain Jackets | 110 | -
  rain jacket; waterproof jacket | packable; breathable; hooded; lightweight
  taped seams; 20k waterproof membrane; pit zips | wet walks; city rain; hiking
Fashion > Outerwear > Down Jackets | 180 | -
  down jacket; puffer jacket | warm; packable; hooded; recycled
  800-fill down; water-repellent shell | winter city; cold mountains
Fashion > Activewear > Yoga Leggings | 45 | -
  yoga leggings; sports leggings | high-waisted; squat-proof; seamless; soft
  four-way stretch; hidden pocket; sweat-wicking | yoga; gym; studio classes
Fashion > Activewear > Running Socks | 14 | -
  running socks; ankle socks | cushioned; anti-blister; merino; breathable
  pack of 3; arch support; seamless toe | long runs; races
Fashion > Footwear > Hiking Boots | 150 | -
  hiking boots; walking boots | waterproof; leather; lightweight; ankle-high
  Vibram sole; Gore-Tex lining; lace hooks | mountain trails; muddy walks
Fashion > Accessories > Sunglasses | 90 | -
  sunglasses; sports sunglasses | polarised; aviator; wraparound; classic
  UV400 lenses; acetate frame; hard case | summer days; sailing; driving

Office > Printer Supplies > Toner Cartridges | 60 | 35
  toner cartridge; laser toner | high-yield; black; compatible; original
  3000-page yield; easy install | office printing; invoices
Office > Printer Supplies > Printer Paper | 8 | 21
  printer paper; copy paper | A4; bright-white; recycled; premium
  500-sheet ream; 80gsm weight | daily printing; school work
Office > Office Furniture > Ergonomic Office Chairs | 300 | -
  office chair; ergonomic chair | mesh; adjustable; executive; breathable
  lumbar support; 4D armrests; tilt lock | long workdays; home offices
Office > Office Furniture > Standing Desks | 450 | -
  standing desk; sit-stand desk | electric; dual-motor; bamboo; compact
  memory presets; cable tray; 120kg capacity | home offices; healthy working
Office > Writing > Notebooks | 12 | -
  notebook; dotted journal | hardcover; A5; lay-flat; recycled
  160 pages; 100gsm paper; ribbon marker | journaling; meeting notes
Office > Writing > Fountain Pens | 45 | -
  fountain pen; calligraphy pen | brass; classic; smooth; refillable
  steel nib; ink converter; gift box | handwriting; signatures; gifts
Office > Computer Accessories > Wireless Mice | 30 | -
  wireless mouse; ergonomic mouse | silent; vertical; rechargeable; compact
  4000 DPI sensor; Bluetooth and USB receiver | office work; travel
Office > Computer Accessories > Mechanical Keyboards | 110 | -
  mechanical keyboard; wireless keyboard | tenkeyless; backlit; low-profile; tactile
  hot-swap switches; PBT keycaps; RGB lighting | typing; programming; gaming

Toys & Games > Board Games > Strategy Board Games | 40 | -
  strategy board game; worker placement game | competitive; award-winning; epic; tactical
  2-4 players; 90-minute playtime; detailed miniatures | game nights; tabletop fans
Toys & Games > Board Games > Family Board Games | 30 | -
  family board game; party game | cooperative; quick; funny; classic
  2-6 players; ages 8+; 30-minute playtime | family evenings; holidays
Toys & Games > Building Toys > Building Block Sets | 60 | -
  building block set; construction set | creative; motorised; themed; large
  800 pieces; step-by-step instructions | young builders; rainy days
Toys & Games > Puzzles > Jigsaw Puzzles | 18 | -
  jigsaw puzzle; 1000-piece puzzle | scenic; challenging; artistic; family
  1000 pieces; poster included; recycled board | quiet evenings; holidays
Toys & Games > Video Game Accessories > Game Controllers | 60 | -
  game controller; wireless gamepad | pro; ergonomic; wireless; custom
  hall-effect sticks; back paddles; 30-hour battery | competitive play; couch co-op
"""

#: Planted cross-department pairings: buying from the left leaf makes the right leaf likely next.
_COMPLEMENTS = """
Espresso Machines -> Coffee Beans; Coffee Grinders -> Coffee Beans
Mirrorless Cameras -> Camera Bags; Camera Lenses -> Photography Books
Action Cameras -> Bike Helmets; Laptops -> Laptop Backpacks
Computer Monitors -> Standing Desks; Laser Printers -> Toner Cartridges
GPS Sports Watches -> Running Shoes; Game Consoles -> Game Controllers
Tents -> Power Banks; Sleeping Bags -> Down Jackets; Camping Stoves -> Trail Mix
Hiking Backpacks -> Hiking Boots; Trekking Poles -> Travel Guides; Kayaks -> Sunscreen
Fishing Rods -> Rain Jackets; Running Shoes -> Running Socks; Road Bikes -> Energy Bars
Dumbbells -> Protein Powder; Yoga Mats -> Yoga Leggings; Cookbooks -> Frying Pans
Stand Mixers -> Baking Flour; Blenders -> Protein Powder; Frying Pans -> Olive Oil
Ergonomic Office Chairs -> Computer Monitors; Mechanical Keyboards -> Wireless Headphones
Jigsaw Puzzles -> Loose Leaf Tea; Picture Books -> Building Block Sets
Travel Guides -> Sunglasses; Hiking Boots -> Trekking Poles; Headlamps -> Power Banks
Sunscreen -> Sunglasses; Dutch Ovens -> Cookbooks; Tennis Rackets -> Energy Bars
"""

_BRANDS = """
Electronics: Voltera; Nikara; Sonique; Pixelon; Arcwave; Lumetra; Kestrel Labs; Quanta
Home & Kitchen: Casalta; Brewmaster; Hearthwell; Kitchora; Morrow & Sons; Nordhus; Velda
Grocery: Golden Hill; Terra Verde; Roastery Nine; Oakfield; Alpine Harvest; Blue Mill
Outdoor: Ridgeline; Summit Co; Northtrail; Fjellgear; Canyon Peak; Wildmoor; Lakeshore
Sports & Fitness: Stride; Velocita; Apex Athletics; Coreforge; Pacer; Ironleaf; Volée
Beauty & Personal Care: Lumière; Botanica; Aurelle; Purely; Mistral; Silk & Stone; Glowe
Books: Penfold Press; Harbour Books; Lantern House; Quill & Ink; Meridian; Foxglove
Fashion: Marlowe; Urbanist; Kinfolk & Co; Nordwind; Atelier Rue; Drift; Basecamp
Office: Deskwise; Paperline; Ergonova; Inkwell; Officio; Tallyho; Penrose
Toys & Games: Brickworks; Meeple & Co; Jollyhop; Puzzlecraft; Tinker Town; Gamestack
"""

#: name | price band | department weights | favoured countries | favoured age bands
_PERSONAS = """
Tech enthusiasts | premium | Electronics 0.75, Office 0.25 | US, NL | 25-34, 35-44
Home cooks | budget | Home & Kitchen 0.6, Grocery 0.4 | IT, ES | 35-44, 45-54
Outdoor adventurers | premium | Outdoor 0.65, Sports & Fitness 0.35 | SE, DE | 25-34, 35-44
Style and beauty lovers | mid | Fashion 0.5, Beauty & Personal Care 0.5 | FR, IT | 18-24, 25-34
Families and readers | budget | Books 0.55, Toys & Games 0.45 | GB, DE | 35-44, 45-54
Fitness fans | mid | Sports & Fitness 0.7, Grocery 0.3 | GB, US | 18-24, 25-34
Office professionals | mid | Office 0.6, Electronics 0.4 | DE, NL | 35-44, 45-54
Gamers | budget | Toys & Games 0.6, Electronics 0.4 | US, SE | 18-24, 25-34
"""

COUNTRIES = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "SE")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
PRICE_BANDS = ("budget", "mid", "premium")
COLOURS = ("black", "white", "grey", "navy", "green", "red", "sand", "silver")

#: Closing sentences of descriptions by price tier (budget, mid, premium): price speaks in text.
TIER_CLOSINGS = (
    ("Great value for everyday use.", "An affordable pick that does the job."),
    ("A dependable choice at a fair price.", "Well made and built to last."),
    ("Premium materials and a two-year warranty.", "Crafted for those who want the best."),
)


@dataclass(frozen=True)
class Leaf:
    """A leaf category and the words its products are described with."""

    path: tuple[str, ...]
    median_price: float
    repeat_days: int | None
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    features: tuple[str, ...]
    uses: tuple[str, ...]

    @property
    def department(self) -> str:
        return self.path[0]

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass(frozen=True)
class Persona:
    """A planted shopper segment."""

    name: str
    price_band: str
    departments: dict[str, float]
    countries: tuple[str, ...]
    age_bands: tuple[str, ...]


def _split(text: str, sep: str = ";") -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(sep) if part.strip())


def _parse_leaves(text: str) -> tuple[Leaf, ...]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    assert len(lines) % 3 == 0, "each leaf takes three lines"
    leaves = []
    for head, words, details in zip(lines[::3], lines[1::3], lines[2::3], strict=True):
        path, price, repeat = _split(head, "|")
        nouns, adjectives = words.split("|")
        features, uses = details.split("|")
        leaves.append(
            Leaf(
                path=_split(path, ">"),
                median_price=float(price),
                repeat_days=None if repeat == "-" else int(repeat),
                nouns=_split(nouns),
                adjectives=_split(adjectives),
                features=_split(features),
                uses=_split(uses),
            )
        )
    assert all(len(leaf.features) >= 2 and len(leaf.adjectives) >= 2 for leaf in leaves)
    return tuple(leaves)


def _parse_personas(text: str) -> tuple[Persona, ...]:
    personas = []
    for line in text.strip().splitlines():
        name, band, departments, countries, ages = _split(line, "|")
        weights = {
            dept.rsplit(" ", 1)[0]: float(dept.rsplit(" ", 1)[1])
            for dept in _split(departments, ",")
        }
        personas.append(Persona(name, band, weights, _split(countries, ","), _split(ages, ",")))
    return tuple(personas)


LEAVES = _parse_leaves(_LEAVES)
LEAF_INDEX = {leaf.name: i for i, leaf in enumerate(LEAVES)}
assert len(LEAF_INDEX) == len(LEAVES), "leaf names are unique"
DEPARTMENTS = tuple(dict.fromkeys(leaf.department for leaf in LEAVES))
BRANDS = {
    dept.strip(): _split(names)
    for dept, names in (line.split(":") for line in _BRANDS.split("\n") if line)
}
PERSONAS = _parse_personas(_PERSONAS)
COMPLEMENTARY_LEAVES = tuple(
    (left.strip(), right.strip())
    for pair in _split(_COMPLEMENTS.replace("\n", ";"))
    for left, right in [pair.split("->")]
)
