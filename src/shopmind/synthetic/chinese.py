"""A Chinese catalogue with planted search truth: products and queries with their answers.

The same kind of shop as the English one, written the way a Taobao or JD listing is: a title
of brand, selling words, product noun, model code and a feature, without spaces ("华为 轻薄
笔记本电脑 X5 16GB内存"); a description naming what it is for; category paths in Chinese;
prices in yuan. Its queries (:class:`~shopmind.synthetic.queries.Query`) are of the English
kinds but misspelling (Chinese typing errors are homophones, not swapped letters): title,
category, synonym ("手提电脑" for 笔记本电脑), price ("跑步鞋300元以内", "100块以下的保温杯")
and description ("适合露营用的").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopmind.catalog.schema import Item
from shopmind.synthetic.queries import Query


@dataclass(frozen=True)
class LeafZh:
    path: tuple[str, ...]
    price: float
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    features: tuple[str, ...]
    uses: tuple[str, ...]
    #: Words the catalogue never uses for this leaf.
    synonym: str


def _leaf(line: str) -> LeafZh:
    path, price, nouns, adjectives, features, uses, synonym = (p.strip() for p in line.split("|"))
    return LeafZh(
        tuple(path.split(">")),
        float(price),
        tuple(nouns.split("、")),
        tuple(adjectives.split("、")),
        tuple(features.split("、")),
        tuple(uses.split("、")),
        synonym,
    )


LEAVES_ZH = tuple(
    _leaf(line)
    for line in """
数码>电脑>笔记本电脑|5000|笔记本电脑、轻薄本|轻薄、高性能、商务、游戏|16GB内存、1TB固态硬盘、高刷屏幕|办公、学习、剪辑视频|手提电脑
数码>相机>微单相机|6000|微单相机、无反相机|全画幅、复古、便携、专业|2400万像素、4K视频、机身防抖|旅行拍照、拍视频|拍照用的数码机器
数码>音频>蓝牙耳机|400|蓝牙耳机、无线耳机|降噪、运动、入耳式、长续航|主动降噪、40小时续航、双设备连接|通勤、跑步、听歌|不用线的耳麦
数码>手机配件>充电宝|150|充电宝、移动电源|大容量、轻薄、快充、迷你|20000毫安、双向快充、两个接口|出差、旅行、露营|手机外接电池
家电>厨房电器>咖啡机|2000|咖啡机、意式咖啡机|全自动、家用、商用、迷你|15巴压力、奶泡器、研磨一体|做拿铁、在家喝咖啡|煮咖啡的机器
家电>厨房电器>电饭煲|400|电饭煲、电饭锅|智能、多功能、小型、大容量|5升容量、预约定时、不粘内胆|煮饭、煲汤|煮米饭的锅
家电>清洁电器>扫地机器人|2500|扫地机器人、扫拖一体机|智能、超薄、自动集尘、静音|激光导航、手机控制、拖地功能|清理宠物毛发、打扫地板|自动打扫卫生的机器
家居>杯具>保温杯|120|保温杯、真空杯|不锈钢、便携、大容量、儿童|12小时保温、防漏杯盖、316不锈钢|上班、户外、上学|保暖水壶
运动>跑步>跑步鞋|600|跑步鞋、跑鞋|缓震、轻便、透气、竞速|碳板、网面鞋面、防滑鞋底|马拉松、日常慢跑|运动鞋
运动>健身>瑜伽垫|150|瑜伽垫、健身垫|防滑、加厚、环保、便携|6毫米厚度、天然橡胶、附背带|瑜伽、普拉提、拉伸|做操用的毯子
运动>骑行>公路自行车|6000|公路自行车、公路车|碳纤维、竞赛、耐力、轻量|22速变速、碟刹、真空胎|骑行比赛、通勤|单车
户外>露营>帐篷|800|帐篷、露营帐篷|双人、超轻、防水、家庭|防暴雨、自动速开、双层设计|野营、徒步、音乐节|野外住的棚子
户外>照明>头灯|100|头灯、户外头灯|充电式、强光、防水、轻便|400流明、红光模式、USB充电|夜跑、夜间徒步、露营|戴在头上的手电筒
美妆>护肤>面霜|300|面霜、保湿霜|补水、清爽、无香、修护|玻尿酸、50毫升、温和配方|干皮、日常护理|护肤乳液
美妆>护肤>防晒霜|150|防晒霜、防晒乳|高倍、防水、清爽、敏感肌|SPF50、广谱防护、200毫升|海边、运动、户外|防紫外线的
图书>小说>推理小说|50|推理小说、悬疑小说|烧脑、畅销、经典、日系|平装版、系列第一部|通勤阅读、假期|侦探故事书
""".strip().splitlines()
)
BRANDS_ZH = {
    "数码": ("华为", "小米", "联想", "索尼"),
    "家电": ("美的", "九阳", "科沃斯", "德龙"),
    "家居": ("膳魔师", "象印", "富光"),
    "运动": ("李宁", "安踏", "特步", "迪卡侬"),
    "户外": ("牧高笛", "探路者", "凯乐石"),
    "美妆": ("珀莱雅", "薇诺娜", "自然堂"),
    "图书": ("新星出版社", "人民文学出版社"),
}


def chinese_catalogue(n_items: int = 800, seed: int = 5) -> list[Item]:
    """``n_items`` Chinese products across the leaves (prices in CNY)."""
    rng = np.random.default_rng(seed)
    items: list[Item] = []
    for i in range(n_items):
        spec = LEAVES_ZH[i % len(LEAVES_ZH)]
        brand_pool = BRANDS_ZH[spec.path[0]]
        brand = brand_pool[int(rng.integers(len(brand_pool)))]
        noun = spec.nouns[int(rng.integers(len(spec.nouns)))]
        adj = spec.adjectives[int(rng.integers(len(spec.adjectives)))]
        f1, f2 = rng.choice(len(spec.features), 2, replace=False)
        use = spec.uses[int(rng.integers(len(spec.uses)))]
        number = int(rng.integers(1, 10)) * 10 ** int(rng.integers(0, 3))
        code = f"{chr(65 + int(rng.integers(26)))}{number}"
        price = float(np.ceil(spec.price * np.exp(0.45 * rng.standard_normal())) - 0.1)
        items.append(
            Item(
                id=f"z{i:05d}",
                title=f"{brand} {adj}{noun} {code} {spec.features[f1]}",
                description=(
                    f"这款{adj}{noun}来自{brand}，适合{use}。"
                    f"配备{spec.features[f1]}和{spec.features[f2]}。"
                ),
                category_path=spec.path,
                brand=brand,
                price=price,
                currency="CNY",
                attributes={"model": code},
            )
        )
    return items


def chinese_queries(items: list[Item], *, seed: int = 0) -> list[Query]:
    """Queries of every kind but misspelling over :func:`chinese_catalogue`'s items."""
    rng = np.random.default_rng(seed)
    by_leaf: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        by_leaf.setdefault(item.category_path[-1], []).append(i)
    by_use: dict[str, set[int]] = {}
    for spec in LEAVES_ZH:
        for use in spec.uses:
            by_use.setdefault(use, set()).update(by_leaf.get(spec.path[-1], []))
    out: list[Query] = []
    for spec in LEAVES_ZH:
        members = by_leaf.get(spec.path[-1], [])
        if not members:
            continue
        leaf = frozenset(members)
        one = int(rng.choice(members))
        item = items[one]
        noun = next((n for n in spec.nouns if n in item.title), spec.nouns[0])
        out.append(
            Query(f"{item.brand}{noun}{item.attributes['model']}", "title", frozenset({one}))
        )
        out.append(Query(spec.path[-1], "category", leaf))
        out.append(Query(spec.synonym, "synonym", leaf))
        prices = np.array([items[j].price for j in members], np.float64)
        bound = float(np.round(np.median(prices), -1))
        within = frozenset(j for j, p in zip(members, prices, strict=True) if p <= bound)
        form = (
            f"{spec.nouns[0]}{bound:g}元以内"
            if rng.random() < 0.5
            else f"{bound:g}块以下的{spec.nouns[0]}"
        )
        if within:
            out.append(Query(form, "price", within))
        use = spec.uses[int(rng.integers(len(spec.uses)))]
        out.append(Query(f"适合{use}用的", "description", frozenset(by_use[use])))
    return out
