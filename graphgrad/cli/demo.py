"""Run the DLFS apple/orange example forward and backward, and print the numbers."""
import graphgrad as gg


def add_parser(parser):
    return parser


def apple_orange():
    """The DLFS shopping example: 2 apples at 100, 3 oranges at 150, tax 1.1."""
    apple, apple_num = gg.tensor(100.0, name="apple"), gg.tensor(2.0, name="apple_num")
    orange, orange_num = gg.tensor(150.0, name="orange"), gg.tensor(3.0, name="orange_num")
    tax = gg.tensor(1.1, name="tax")
    price = (apple * apple_num + orange * orange_num) * tax
    price.name = "price"
    price.backward()
    return price, (apple_num, apple, orange, orange_num, tax)


def run(args):
    price, leaves = apple_orange()
    print(f"price: {price.item():.4g}")
    for leaf in leaves:
        print(f"d{leaf.name}: {leaf.grad:.4g}")
