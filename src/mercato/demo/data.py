"""The demo marketplace's content: a bilingual platform category tree with its properties,
the demo shops and accounts, and a Taobao-style title generator.

Everything here is plain data and pure functions; :mod:`mercato.demo.seed` turns it into rows.
Brands, shops and people are invented.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from html import escape
from typing import NamedTuple

TITLE_MAX = 60  # items.title is String(60)


class Word(NamedTuple):
    """A Chinese word and its English counterpart (``en`` may be empty: "新款" needs none)."""

    zh: str
    en: str


@dataclass(frozen=True)
class SaleProp:
    """A sale property: each SKU names one of its values. ``factors`` scale the base price
    per value (bigger storage, bigger pack); missing factors mean 1.0."""

    name: str
    name_en: str
    values: tuple[Word, ...]
    color: bool = False
    factors: tuple[float, ...] = ()

    def factor(self, index: int) -> float:
        return self.factors[index] if index < len(self.factors) else 1.0


@dataclass(frozen=True)
class AttrProp:
    """An enumerated, non-key, non-sale property (material, origin…)."""

    name: str
    name_en: str
    values: tuple[Word, ...]


@dataclass(frozen=True)
class Leaf:
    """A leaf category: the only kind that holds items."""

    key: str
    name: str
    name_en: str
    family: str
    noun: Word
    adjectives: tuple[Word, ...]
    price: tuple[int, int]  # yuan, inclusive
    brands: tuple[Word, ...]
    shape: str
    sale_props: tuple[SaleProp, ...] = ()
    attr_props: tuple[AttrProp, ...] = ()
    model_no: bool = False
    featured: tuple[Word, ...] = ()  # hand-written titles the demo uses first
    max_adjectives: int = 2  # 1 where two would contradict (two kinds of tea)
    blurb: str = ""


@dataclass(frozen=True)
class Node:
    """An inner category."""

    name: str
    name_en: str
    children: tuple[Node | Leaf, ...]


@dataclass(frozen=True)
class Family:
    """A top-level category plus what items under it have in common."""

    key: str
    name: str
    name_en: str
    children: tuple[Node | Leaf, ...]
    prefixes: tuple[Word, ...]
    markers: tuple[Word, ...] = ()
    brand_in_title: bool = False
    colors: tuple[tuple[int, int, int], tuple[int, int, int]] = ((240, 240, 240), (200, 200, 200))


# --- shared property values -------------------------------------------------------------

COLORS = (
    Word("黑色", "Black"),
    Word("白色", "White"),
    Word("红色", "Red"),
    Word("藏青色", "Navy"),
    Word("浅蓝色", "Light blue"),
    Word("粉色", "Pink"),
    Word("卡其色", "Khaki"),
    Word("墨绿色", "Dark green"),
)
APPAREL_SIZES = tuple(Word(s, s) for s in ("S", "M", "L", "XL", "XXL"))
SHOE_SIZES = tuple(Word(str(s), f"EU {s}") for s in range(36, 45))
PHONE_COLORS = (
    Word("曜石黑", "Obsidian black"),
    Word("珍珠白", "Pearl white"),
    Word("星河蓝", "Galaxy blue"),
    Word("晨曦金", "Dawn gold"),
    Word("薄荷绿", "Mint green"),
)
MATERIALS = AttrProp(
    "材质",
    "Material",
    (
        Word("棉", "Cotton"),
        Word("涤纶", "Polyester"),
        Word("真丝", "Silk"),
        Word("亚麻", "Linen"),
        Word("雪纺", "Chiffon"),
        Word("莫代尔", "Modal"),
    ),
)
ORIGINS = AttrProp(
    "产地",
    "Origin",
    (
        Word("云南", "Yunnan"),
        Word("福建", "Fujian"),
        Word("浙江", "Zhejiang"),
        Word("安徽", "Anhui"),
        Word("新疆", "Xinjiang"),
    ),
)


def _apparel(*, shoe: bool = False) -> tuple[SaleProp, ...]:
    sizes = SHOE_SIZES if shoe else APPAREL_SIZES
    return (
        SaleProp("颜色", "Color", COLORS, color=True),
        SaleProp("尺码", "Size", sizes),
    )


def _pack(values: tuple[str, ...], factors: tuple[float, ...]) -> tuple[SaleProp, ...]:
    return (SaleProp("规格", "Pack size", tuple(Word(v, v) for v in values), factors=factors),)


CLOTHING_BRANDS = (
    Word("云裳记", "Yunshang"),
    Word("花间集", "Floral Tales"),
    Word("素年", "Sunian"),
    Word("织梦坊", "Dream Loom"),
    Word("南山棉", "Nanshan Cotton"),
)
SHOE_BRANDS = (
    Word("疾风", "Gale"),
    Word("步云", "Cloudstep"),
    Word("跃动", "Leap"),
    Word("轻驰", "Lightrun"),
)
TECH_BRANDS = (
    Word("星辰", "Xingchen"),
    Word("云雀", "Skylark"),
    Word("极光", "Aurora"),
    Word("青橙", "Qingcheng"),
)
FOOD_BRANDS = (
    Word("松果记", "Pinecone"),
    Word("山野集", "Wild Hills"),
    Word("良品记", "Liangpin"),
    Word("果园里", "In the Orchard"),
)
TEA_BRANDS = (
    Word("茶山人家", "Tea Hill Home"),
    Word("云岭", "Yunling"),
    Word("西子茶", "Xizi Tea"),
    Word("武夷山房", "Wuyi Lodge"),
)
HOME_BRANDS = (
    Word("安居", "Anju"),
    Word("木语", "Woodtalk"),
    Word("素简", "Sujian"),
    Word("暖巢", "Warm Nest"),
)
BEAUTY_BRANDS = (
    Word("花漾", "Huayang"),
    Word("水光肌", "Glow Skin"),
    Word("初雪", "First Snow"),
    Word("兰若", "Lanruo"),
)
SPORT_BRANDS = (
    Word("动力", "Dongli"),
    Word("山行者", "Hillwalker"),
    Word("悦跑", "Joyrun"),
    Word("燃", "Ignite"),
)
PRESSES = (
    Word("星河出版社", "Galaxy Press"),
    Word("青藤书局", "Green Vine Books"),
    Word("知行文库", "Zhixing Library"),
    Word("小树苗童书", "Sapling Kids"),
)

# --- the tree ---------------------------------------------------------------------------

CLOTHING = Family(
    key="clothing",
    name="服装鞋包",
    name_en="Clothing & Shoes",
    prefixes=(
        Word("夏季", "summer"),
        Word("春季", "spring"),
        Word("秋冬", "autumn"),
        Word("春秋", "spring"),
        Word("2024", "2024"),
        Word("早春", "early spring"),
    ),
    markers=(Word("新款", ""), Word("爆款", ""), Word("", ""), Word("ins风", "IG-style")),
    colors=((250, 214, 226), (214, 190, 240)),
    children=(
        Node(
            "女装",
            "Women's clothing",
            (
                Leaf(
                    key="dress",
                    name="连衣裙",
                    name_en="Dresses",
                    family="clothing",
                    noun=Word("连衣裙", "dress"),
                    adjectives=(
                        Word("碎花", "floral"),
                        Word("法式", "French"),
                        Word("收腰", "waisted"),
                        Word("显瘦", "slimming"),
                        Word("雪纺", "chiffon"),
                        Word("复古", "vintage"),
                        Word("温柔风", "gentle"),
                        Word("长款", "long"),
                        Word("波点", "polka-dot"),
                    ),
                    price=(89, 459),
                    brands=CLOTHING_BRANDS,
                    shape="dress",
                    sale_props=_apparel(),
                    attr_props=(MATERIALS,),
                    model_no=True,
                    featured=(
                        Word("夏季新款碎花连衣裙", "Summer floral dress"),
                        Word("法式复古方领收腰连衣裙", "French vintage square-neck dress"),
                        Word("真丝印花长款连衣裙", "Silk printed maxi dress"),
                    ),
                    blurb="轻盈面料，透气舒适，通勤约会都合适。Light, breathable and easy to wear.",
                ),
                Leaf(
                    key="tshirt",
                    name="T恤",
                    name_en="T-shirts",
                    family="clothing",
                    noun=Word("T恤", "T-shirt"),
                    adjectives=(
                        Word("纯棉", "cotton"),
                        Word("宽松", "loose"),
                        Word("短袖", "short-sleeve"),
                        Word("印花", "printed"),
                        Word("圆领", "crew-neck"),
                        Word("条纹", "striped"),
                        Word("纯色", "plain"),
                        Word("oversize", "oversize"),
                    ),
                    price=(39, 159),
                    brands=CLOTHING_BRANDS,
                    shape="tshirt",
                    sale_props=_apparel(),
                    attr_props=(MATERIALS,),
                    model_no=True,
                    featured=(Word("纯棉短袖圆领T恤女", "Cotton crew-neck tee"),),
                    blurb="精梳棉面料，亲肤不起球。Combed cotton, soft on the skin.",
                ),
            ),
        ),
        Node(
            "男装",
            "Men's clothing",
            (
                Leaf(
                    key="shirt",
                    name="衬衫",
                    name_en="Shirts",
                    family="clothing",
                    noun=Word("衬衫", "shirt"),
                    adjectives=(
                        Word("商务", "business"),
                        Word("免烫", "non-iron"),
                        Word("长袖", "long-sleeve"),
                        Word("牛津纺", "oxford"),
                        Word("修身", "slim-fit"),
                        Word("格子", "plaid"),
                        Word("亚麻", "linen"),
                    ),
                    price=(79, 299),
                    brands=CLOTHING_BRANDS,
                    shape="shirt",
                    sale_props=_apparel(),
                    attr_props=(MATERIALS,),
                    model_no=True,
                    featured=(Word("男士免烫商务长袖衬衫", "Men's non-iron business shirt"),),
                    blurb="挺括版型，抗皱免烫。Crisp cut, wrinkle resistant.",
                ),
                Leaf(
                    key="jeans",
                    name="牛仔裤",
                    name_en="Jeans",
                    family="clothing",
                    noun=Word("牛仔裤", "jeans"),
                    adjectives=(
                        Word("直筒", "straight"),
                        Word("弹力", "stretch"),
                        Word("高腰", "high-waist"),
                        Word("阔腿", "wide-leg"),
                        Word("小脚", "skinny"),
                        Word("水洗", "washed"),
                        Word("破洞", "ripped"),
                    ),
                    price=(99, 399),
                    brands=CLOTHING_BRANDS,
                    shape="jeans",
                    sale_props=_apparel(),
                    model_no=True,
                    featured=(Word("男士直筒弹力牛仔裤", "Men's straight stretch jeans"),),
                    blurb="微弹牛仔布，久坐不紧绷。Soft stretch denim.",
                ),
            ),
        ),
        Node(
            "鞋靴",
            "Shoes",
            (
                Leaf(
                    key="sneakers",
                    name="运动鞋",
                    name_en="Sneakers",
                    family="clothing",
                    noun=Word("运动鞋", "sneakers"),
                    adjectives=(
                        Word("透气", "breathable"),
                        Word("轻便", "lightweight"),
                        Word("跑步", "running"),
                        Word("减震", "cushioned"),
                        Word("小白鞋", "white"),
                        Word("休闲", "casual"),
                        Word("网面", "mesh"),
                    ),
                    price=(199, 899),
                    brands=SHOE_BRANDS,
                    shape="shoe",
                    sale_props=_apparel(shoe=True),
                    model_no=True,
                    featured=(Word("轻便透气跑步运动鞋", "Lightweight running sneakers"),),
                    blurb="回弹中底，轻盈透气。Springy midsole, airy mesh upper.",
                ),
            ),
        ),
    ),
)

ELECTRONICS = Family(
    key="electronics",
    name="数码电器",
    name_en="Electronics",
    prefixes=(
        Word("2024新款", "2024"),
        Word("官方正品", "genuine"),
        Word("旗舰", "flagship"),
        Word("国行", "CN"),
        Word("", ""),
    ),
    brand_in_title=True,
    colors=((196, 220, 245), (120, 150, 200)),
    children=(
        Leaf(
            key="phone",
            name="手机",
            name_en="Phones",
            family="electronics",
            noun=Word("智能手机", "smartphone"),
            adjectives=(
                Word("5G全网通", "5G"),
                Word("拍照", "camera"),
                Word("游戏", "gaming"),
                Word("轻薄", "slim"),
                Word("长续航", "long-battery"),
                Word("曲面屏", "curved-screen"),
            ),
            price=(1299, 4999),
            brands=TECH_BRANDS,
            shape="phone",
            sale_props=(
                SaleProp("颜色", "Color", PHONE_COLORS, color=True),
                SaleProp(
                    "存储容量",
                    "Storage",
                    (Word("64GB", "64GB"), Word("128GB", "128GB"), Word("256GB", "256GB")),
                    factors=(1.0, 1.2, 1.45),
                ),
            ),
            model_no=True,
            featured=(Word("星辰X5 5G全网通拍照手机", "Xingchen X5 5G camera phone"),),
            blurb="6.7英寸高刷屏，5000mAh大电池。6.7-inch 120Hz screen, 5000 mAh battery.",
        ),
        Leaf(
            key="headphones",
            name="耳机",
            name_en="Headphones",
            family="electronics",
            noun=Word("蓝牙耳机", "headphones"),
            adjectives=(
                Word("主动降噪", "noise-cancelling"),
                Word("无线", "wireless"),
                Word("入耳式", "in-ear"),
                Word("运动", "sport"),
                Word("头戴式", "over-ear"),
                Word("低延迟", "low-latency"),
            ),
            price=(99, 1299),
            brands=TECH_BRANDS,
            shape="headphones",
            model_no=True,
            featured=(Word("主动降噪无线蓝牙耳机", "Noise-cancelling wireless headphones"),),
            blurb="40dB深度降噪，30小时续航。40 dB ANC, 30 hours of play.",
        ),
        Leaf(
            key="charger",
            name="充电器",
            name_en="Chargers",
            family="electronics",
            noun=Word("充电器", "charger"),
            adjectives=(
                Word("65W氮化镓", "65W GaN"),
                Word("快充", "fast"),
                Word("多口", "multi-port"),
                Word("折叠插脚", "foldable"),
                Word("Type-C", "USB-C"),
            ),
            price=(29, 199),
            brands=TECH_BRANDS,
            shape="charger",
            model_no=True,
            featured=(Word("65W氮化镓快充充电器", "65W GaN fast charger"),),
            blurb="小巧便携，一个顶三个。Small enough for a pocket.",
        ),
        Leaf(
            key="laptop",
            name="笔记本电脑",
            name_en="Laptops",
            family="electronics",
            noun=Word("笔记本电脑", "laptop"),
            adjectives=(
                Word("轻薄", "thin"),
                Word("14英寸", "14-inch"),
                Word("办公", "office"),
                Word("游戏本", "gaming"),
                Word("高色域", "wide-gamut"),
            ),
            price=(3999, 12999),
            brands=TECH_BRANDS,
            shape="laptop",
            model_no=True,
            featured=(Word("14英寸轻薄办公笔记本电脑", "14-inch thin office laptop"),),
            blurb="1.3kg机身，全天续航。1.3 kg, all-day battery.",
        ),
    ),
)

FOOD = Family(
    key="food",
    name="食品",
    name_en="Food",
    prefixes=(
        Word("新货", "fresh"),
        Word("特级", "premium"),
        Word("原味", "original"),
        Word("产地直发", "farm-direct"),
        Word("", ""),
    ),
    markers=(Word("", ""), Word("网红", ""), Word("整箱", "")),
    colors=((255, 236, 200), (245, 190, 120)),
    children=(
        Leaf(
            key="tea",
            name="茶叶",
            name_en="Tea",
            family="food",
            noun=Word("茶叶", "tea"),
            adjectives=(
                Word("明前龙井", "Longjing green"),
                Word("普洱熟茶", "ripe Pu'er"),
                Word("正山小种", "Lapsang"),
                Word("铁观音", "Tieguanyin"),
                Word("白茶", "white"),
                Word("茉莉花茶", "jasmine"),
            ),
            price=(68, 598),
            brands=TEA_BRANDS,
            shape="cup",
            sale_props=_pack(("50g", "100g", "250g"), (1.0, 1.85, 4.2)),
            max_adjectives=1,
            attr_props=(ORIGINS,),
            featured=(Word("明前特级龙井绿茶", "Premium Longjing green tea"),),
            blurb="高山茶园，手工采摘。Hand-picked on high mountain gardens.",
        ),
        Leaf(
            key="snacks",
            name="零食",
            name_en="Snacks",
            family="food",
            noun=Word("零食大礼包", "snack box"),
            adjectives=(
                Word("麻辣", "spicy"),
                Word("香脆", "crispy"),
                Word("休闲", "party"),
                Word("独立小包装", "single-serve"),
                Word("办公室", "office"),
            ),
            price=(19, 89),
            brands=FOOD_BRANDS,
            shape="bag",
            sale_props=_pack(("250g", "500g", "1kg"), (1.0, 1.8, 3.3)),
            featured=(Word("网红麻辣零食大礼包", "Spicy snack box"),),
            blurb="多种口味一次尝遍。Many flavours in one box.",
        ),
        Leaf(
            key="nuts",
            name="坚果",
            name_en="Nuts",
            family="food",
            noun=Word("坚果", "nuts"),
            adjectives=(
                Word("每日", "daily"),
                Word("碧根果", "pecan"),
                Word("夏威夷果", "macadamia"),
                Word("混合", "mixed"),
                Word("原味巴旦木", "almond"),
            ),
            price=(39, 169),
            brands=FOOD_BRANDS,
            shape="jar",
            sale_props=_pack(("250g", "500g", "1000g"), (1.0, 1.85, 3.5)),
            attr_props=(ORIGINS,),
            featured=(Word("每日坚果混合果仁", "Daily mixed nuts"),),
            blurb="低温烘焙，颗颗饱满。Slow roasted, plump kernels.",
        ),
    ),
)

HOME = Family(
    key="home",
    name="家居日用",
    name_en="Home",
    prefixes=(
        Word("北欧", "Nordic"),
        Word("简约", "simple"),
        Word("日式", "Japanese"),
        Word("家用", ""),
        Word("", ""),
    ),
    markers=(Word("", ""), Word("加厚", ""), Word("ins风", "")),
    colors=((220, 238, 220), (160, 200, 170)),
    children=(
        Leaf(
            key="bedding",
            name="床品",
            name_en="Bedding",
            family="home",
            noun=Word("床上四件套", "bedding set"),
            adjectives=(
                Word("全棉", "cotton"),
                Word("水洗棉", "washed-cotton"),
                Word("天丝", "tencel"),
                Word("纯色", "solid"),
                Word("格纹", "check"),
            ),
            price=(199, 1299),
            brands=HOME_BRANDS,
            shape="pillow",
            featured=(Word("全棉磨毛床上四件套", "Brushed cotton bedding set"),),
            blurb="A类标准，婴幼儿可用。Class A fabric, baby safe.",
        ),
        Leaf(
            key="cookware",
            name="厨具",
            name_en="Cookware",
            family="home",
            noun=Word("炒锅", "wok"),
            adjectives=(
                Word("不粘", "non-stick"),
                Word("铸铁", "cast-iron"),
                Word("麦饭石", "stone-coated"),
                Word("无涂层", "uncoated"),
                Word("电磁炉通用", "induction"),
            ),
            price=(59, 699),
            brands=HOME_BRANDS,
            shape="pot",
            featured=(Word("不粘炒锅家用电磁炉通用", "Non-stick wok for induction"),),
            blurb="少油烟，易清洗。Less smoke, easy to clean.",
        ),
        Leaf(
            key="storage_box",
            name="收纳",
            name_en="Storage boxes",
            family="home",
            noun=Word("收纳箱", "storage box"),
            adjectives=(
                Word("透明", "clear"),
                Word("可折叠", "foldable"),
                Word("带盖", "lidded"),
                Word("大容量", "large"),
                Word("衣柜", "wardrobe"),
            ),
            price=(19, 129),
            brands=HOME_BRANDS,
            shape="box",
            featured=(Word("透明带盖衣物收纳箱", "Clear lidded storage box"),),
            blurb="叠放稳固，一目了然。Stacks firmly, see what is inside.",
        ),
    ),
)

BEAUTY = Family(
    key="beauty",
    name="美妆个护",
    name_en="Beauty",
    prefixes=(Word("正品", "genuine"), Word("新品", "new"), Word("", "")),
    markers=(Word("", ""), Word("保湿", "")),
    brand_in_title=True,
    colors=((255, 222, 230), (240, 160, 190)),
    children=(
        Leaf(
            key="skincare",
            name="护肤",
            name_en="Skincare",
            family="beauty",
            noun=Word("精华液", "serum"),
            adjectives=(
                Word("玻尿酸", "hyaluronic"),
                Word("烟酰胺", "niacinamide"),
                Word("修护", "repair"),
                Word("补水", "hydrating"),
                Word("提亮", "brightening"),
            ),
            price=(89, 799),
            brands=BEAUTY_BRANDS,
            shape="bottle",
            featured=(Word("玻尿酸补水精华液", "Hyaluronic hydrating serum"),),
            blurb="温和配方，敏感肌可用。Gentle enough for sensitive skin.",
        ),
        Leaf(
            key="makeup",
            name="彩妆",
            name_en="Makeup",
            family="beauty",
            noun=Word("口红", "lipstick"),
            adjectives=(
                Word("哑光", "matte"),
                Word("丝绒", "velvet"),
                Word("滋润", "moisturising"),
                Word("显白", "brightening"),
                Word("不沾杯", "long-wear"),
            ),
            price=(49, 399),
            brands=BEAUTY_BRANDS,
            shape="lipstick",
            featured=(Word("丝绒哑光显白口红", "Velvet matte lipstick"),),
            blurb="一抹显色，持久不沾杯。Rich colour that lasts.",
        ),
    ),
)

SPORTS = Family(
    key="sports",
    name="运动户外",
    name_en="Sports & Outdoors",
    prefixes=(Word("专业", "pro"), Word("家用", ""), Word("户外", "outdoor"), Word("", "")),
    markers=(Word("", ""), Word("加厚", "")),
    colors=((210, 240, 250), (110, 190, 210)),
    children=(
        Leaf(
            key="fitness",
            name="健身器材",
            name_en="Fitness equipment",
            family="sports",
            noun=Word("哑铃", "dumbbells"),
            adjectives=(
                Word("可调节", "adjustable"),
                Word("包胶", "rubber"),
                Word("六角", "hex"),
                Word("电镀", "chrome"),
                Word("健身", "gym"),
            ),
            price=(49, 599),
            brands=SPORT_BRANDS,
            shape="dumbbell",
            featured=(Word("可调节包胶哑铃一对", "Adjustable rubber dumbbells"),),
            blurb="防滑手柄，静音包胶。Grippy handle, quiet rubber.",
        ),
        Leaf(
            key="outdoor",
            name="户外装备",
            name_en="Outdoor gear",
            family="sports",
            noun=Word("帐篷", "tent"),
            adjectives=(
                Word("全自动", "pop-up"),
                Word("防雨", "rainproof"),
                Word("露营", "camping"),
                Word("双人", "2-person"),
                Word("便携", "portable"),
            ),
            price=(99, 1599),
            brands=SPORT_BRANDS,
            shape="tent",
            featured=(Word("户外露营全自动防雨帐篷", "Pop-up rainproof camping tent"),),
            blurb="一秒速开，防雨防晒。Opens in a second, keeps rain and sun out.",
        ),
        Leaf(
            key="yoga",
            name="瑜伽垫",
            name_en="Yoga mats",
            family="sports",
            noun=Word("瑜伽垫", "yoga mat"),
            adjectives=(
                Word("防滑", "non-slip"),
                Word("加宽", "wide"),
                Word("TPE", "TPE"),
                Word("天然橡胶", "natural rubber"),
                Word("初学者", "beginner"),
            ),
            price=(39, 299),
            brands=SPORT_BRANDS,
            shape="mat",
            featured=(Word("加厚防滑瑜伽垫", "Thick non-slip yoga mat"),),
            blurb="双面防滑，回弹好。Grips on both sides.",
        ),
    ),
)

BOOKS = Family(
    key="books",
    name="图书",
    name_en="Books",
    prefixes=(Word("正版", ""), Word("新书", "new"), Word("", "")),
    markers=(Word("", ""), Word("精装", "")),
    colors=((245, 240, 225), (200, 185, 150)),
    children=(
        Leaf(
            key="fiction",
            name="小说",
            name_en="Fiction",
            family="books",
            noun=Word("小说", "novel"),
            adjectives=(
                Word("悬疑", "mystery"),
                Word("科幻", "sci-fi"),
                Word("武侠", "wuxia"),
                Word("历史", "historical"),
                Word("获奖", "award-winning"),
            ),
            price=(19, 89),
            brands=PRESSES,
            shape="book",
            featured=(Word("科幻长篇小说三部曲", "Sci-fi novel trilogy"),),
            blurb="一读就停不下来。Hard to put down.",
        ),
        Leaf(
            key="kids_books",
            name="童书",
            name_en="Children's books",
            family="books",
            noun=Word("绘本", "picture book"),
            adjectives=(
                Word("3-6岁", "ages 3-6"),
                Word("睡前故事", "bedtime"),
                Word("科普", "science"),
                Word("双语", "bilingual"),
                Word("立体", "pop-up"),
            ),
            price=(15, 128),
            brands=PRESSES,
            shape="book",
            featured=(Word("双语睡前故事绘本", "Bilingual bedtime picture book"),),
            blurb="亲子共读好时光。Read together at bedtime.",
        ),
        Leaf(
            key="computing",
            name="计算机",
            name_en="Computing",
            family="books",
            noun=Word("编程书", "programming book"),
            adjectives=(
                Word("Python", "Python"),
                Word("入门", "beginner"),
                Word("数据分析", "data analysis"),
                Word("算法", "algorithms"),
                Word("实战", "hands-on"),
            ),
            price=(49, 168),
            brands=PRESSES,
            shape="book",
            featured=(Word("Python编程从入门到实战", "Python from beginner to pro"),),
            blurb="配套源码，边学边练。With code to follow along.",
        ),
    ),
)

FAMILIES: tuple[Family, ...] = (CLOTHING, ELECTRONICS, FOOD, HOME, BEAUTY, SPORTS, BOOKS)


def iter_leaves() -> list[Leaf]:
    """Every leaf of the tree, in tree order."""
    out: list[Leaf] = []

    def walk(nodes: tuple[Node | Leaf, ...]) -> None:
        for node in nodes:
            if isinstance(node, Leaf):
                out.append(node)
            else:
                walk(node.children)

    for family in FAMILIES:
        walk(family.children)
    return out


LEAVES: dict[str, Leaf] = {leaf.key: leaf for leaf in iter_leaves()}
FAMILY_BY_KEY: dict[str, Family] = {f.key: f for f in FAMILIES}


def count_categories() -> int:
    def count(nodes: tuple[Node | Leaf, ...]) -> int:
        return sum(1 + (0 if isinstance(n, Leaf) else count(n.children)) for n in nodes)

    return sum(1 + count(f.children) for f in FAMILIES)


# --- shops and people -------------------------------------------------------------------


@dataclass(frozen=True)
class ShopSpec:
    nick: str
    title: str
    title_en: str
    state: str
    city: str
    leaves: tuple[str, ...]
    description: str
    bulletin: str


SHOPS: tuple[ShopSpec, ...] = (
    ShopSpec(
        nick="demo_seller",
        title="江南织造 Jiangnan Weaving",
        title_en="Jiangnan Weaving",
        state="浙江",
        city="杭州",
        leaves=("dress", "tshirt", "shirt"),
        description="杭州原创女装，十年老店，只做好面料。Original womenswear from Hangzhou.",
        bulletin="新品每周三上新，全场满299包邮。New arrivals every Wednesday.",
    ),
    ShopSpec(
        nick="chaopai_studio",
        title="潮牌工坊 Chaopai Studio",
        title_en="Chaopai Studio",
        state="广东",
        city="广州",
        leaves=("jeans", "sneakers", "tshirt", "shirt", "dress"),
        description="街头潮流男女装与球鞋。Streetwear and sneakers.",
        bulletin="尺码不合适7天无理由退换。Free size exchanges within 7 days.",
    ),
    ShopSpec(
        nick="xingchen_digital",
        title="星辰数码 Xingchen Digital",
        title_en="Xingchen Digital",
        state="广东",
        city="深圳",
        leaves=("phone", "headphones", "charger", "laptop"),
        description="深圳华强北正品数码，全国联保。Genuine gadgets with nationwide warranty.",
        bulletin="下单即送钢化膜，顺丰包邮。Free screen protector and express shipping.",
    ),
    ShopSpec(
        nick="puer_tea",
        title="云岭茶庄 Yunling Tea House",
        title_en="Yunling Tea House",
        state="云南",
        city="昆明",
        leaves=("tea",),
        description="云南高山茶园直供。Straight from Yunnan's mountain gardens.",
        bulletin="春茶预售中，先到先得。Spring harvest pre-orders open now.",
    ),
    ShopSpec(
        nick="songguo_snacks",
        title="松果小铺 Pinecone Pantry",
        title_en="Pinecone Pantry",
        state="安徽",
        city="芜湖",
        leaves=("snacks", "nuts", "tea"),
        description="坚果零食一站购齐。Nuts and snacks, all in one place.",
        bulletin="第二件半价，囤货正当时。Second pack at half price.",
    ),
    ShopSpec(
        nick="anju_home",
        title="安居家坊 Anju Home",
        title_en="Anju Home",
        state="江苏",
        city="南通",
        leaves=("bedding", "cookware", "storage_box"),
        description="南通家纺与好用的厨房日用。Home textiles from Nantong and kitchen goods.",
        bulletin="床品支持30天试睡。Try our bedding for 30 nights.",
    ),
    ShopSpec(
        nick="huayang_beauty",
        title="花漾美妆 Huayang Beauty",
        title_en="Huayang Beauty",
        state="上海",
        city="上海",
        leaves=("skincare", "makeup"),
        description="品牌授权，假一赔十。Authorised brands only.",
        bulletin="会员日每月8号，满199减30。Member day on the 8th.",
    ),
    ShopSpec(
        nick="dongli_sports",
        title="动力运动 Dongli Sports",
        title_en="Dongli Sports",
        state="福建",
        city="厦门",
        leaves=("fitness", "outdoor", "yoga", "sneakers"),
        description="运动装备专营店。Gear for training and the outdoors.",
        bulletin="露营季装备8折起。Camping season: 20% off.",
    ),
    ShopSpec(
        nick="shuxiang_books",
        title="书香门第 Shuxiang Books",
        title_en="Shuxiang Books",
        state="北京",
        city="北京",
        leaves=("fiction", "kids_books", "computing"),
        description="正版图书，开票无忧。Original editions, invoices on request.",
        bulletin="满100减20，童书专区买二送一。Buy two children's books, get one free.",
    ),
)

DEMO_ACCOUNTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("demo_seller", ("seller", "buyer")),
    ("demo_buyer", ("buyer",)),
    ("demo_dev", ("developer", "buyer")),
    ("demo_operator", ("operator",)),
)
BUYER_NICKS = (
    "xiaoming88",
    "lili_2023",
    "dawei007",
    "xiaohong",
    "tiantian_",
    "ajie1990",
    "meimei520",
    "laowang66",
    "zhangsan_sh",
    "chenchen99",
    "yueyue_bj",
    "haohao2000",
)

LOCATIONS: tuple[tuple[str, str], ...] = (
    ("浙江", "杭州"),
    ("浙江", "义乌"),
    ("广东", "广州"),
    ("广东", "深圳"),
    ("江苏", "苏州"),
    ("江苏", "南京"),
    ("上海", "上海"),
    ("北京", "北京"),
    ("福建", "厦门"),
    ("福建", "泉州"),
    ("四川", "成都"),
    ("湖北", "武汉"),
    ("云南", "昆明"),
    ("山东", "青岛"),
)
CITY_EN = {
    "杭州": "Hangzhou",
    "义乌": "Yiwu",
    "广州": "Guangzhou",
    "深圳": "Shenzhen",
    "苏州": "Suzhou",
    "南京": "Nanjing",
    "上海": "Shanghai",
    "北京": "Beijing",
    "厦门": "Xiamen",
    "泉州": "Quanzhou",
    "成都": "Chengdu",
    "武汉": "Wuhan",
    "昆明": "Kunming",
    "青岛": "Qingdao",
}
SHOP_WORDS = (
    Word("优选", "Select"),
    Word("好物", "Goods"),
    Word("旗舰店", "Flagship"),
    Word("生活馆", "Living"),
    Word("小铺", "Corner"),
    Word("严选", "Picks"),
)


# --- titles and descriptions ------------------------------------------------------------


@dataclass(frozen=True)
class Title:
    text: str  # what is stored: "夏季新款碎花连衣裙 Summer floral dress"
    en: str  # the English half, drawn on images


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _render(words: list[Word]) -> Title:
    zh = "".join(w.zh for w in words)
    en = _cap(" ".join(w.en for w in words if w.en))
    return Title(f"{zh} {en}", en)


def make_title(rng: random.Random, leaf: Leaf, brand: Word) -> Title:
    """A Taobao-style bilingual title: Chinese words run together, then an English gloss.
    At most :data:`TITLE_MAX` characters."""
    family = FAMILY_BY_KEY[leaf.family]
    prefix = rng.choice(family.prefixes)
    marker = rng.choice(family.markers) if family.markers else Word("", "")
    adjs = rng.sample(leaf.adjectives, k=2 if leaf.max_adjectives > 1 and rng.random() < 0.5 else 1)
    lead = [brand] if family.brand_in_title else []
    # Longest first; drop the least telling words until it fits.
    for words in (
        [*lead, prefix, marker, *adjs, leaf.noun],
        [*lead, prefix, marker, adjs[0], leaf.noun],
        [*lead, adjs[0], leaf.noun],
    ):
        title = _render(words)
        if len(title.text) <= TITLE_MAX:
            return title
    return Title(title.text[:TITLE_MAX].rstrip(), title.en)


def featured_title(word: Word) -> Title:
    return Title(f"{word.zh} {word.en}"[:TITLE_MAX], word.en)


@dataclass
class DescriptionParts:
    title: str
    blurb: str
    brand: Word
    facts: list[tuple[str, str]] = field(default_factory=list)


def make_description(parts: DescriptionParts) -> str:
    """Small, safe HTML: only <p>, <strong>, <ul>, <li>, every text escaped."""
    facts = "".join(f"<li><strong>{escape(k)}</strong>：{escape(v)}</li>" for k, v in parts.facts)
    return (
        f"<p><strong>{escape(parts.title)}</strong></p>"
        f"<p>{escape(parts.blurb)}</p>"
        f"<ul><li><strong>品牌 Brand</strong>：{escape(parts.brand.zh)} {escape(parts.brand.en)}"
        f"</li>{facts}</ul>"
        "<p>7天无理由退换 · 48小时内发货。7-day returns, ships within 48 hours.</p>"
    )


def price_fen(rng: random.Random, low_yuan: int, high_yuan: int) -> int:
    """A believable price: whole yuan, or ending in .90 / .99 now and then."""
    yuan = rng.randint(low_yuan, high_yuan)
    if yuan >= 100:
        yuan = yuan - yuan % 10 + 9  # 129, 459
    ending = rng.choice((0, 0, 0, 90, 99)) if yuan < 300 else 0
    return yuan * 100 if not ending else (yuan - 1) * 100 + ending
