from decimal import Decimal

from django import forms

from catalog.models import MemoryKit

CAPACITY_CHOICES = [
    ("", "Any"),
    *[(str(gb), f"{gb} GB or more") for gb in (32, 64, 96, 128, 192, 256, 384, 512, 768, 1024)],
]
ECC_CHOICES = [("", "Any"), ("yes", "ECC"), ("no", "Non-ECC")]


class KitFilterForm(forms.Form):
    """GET filters for /kits/; every field optional, invalid input re-renders with errors."""

    capacity = forms.TypedChoiceField(
        choices=CAPACITY_CHOICES, coerce=int, required=False, empty_value=None
    )
    ddr = forms.ChoiceField(
        label="DDR generation",
        choices=[("", "Any"), *MemoryKit.DdrGeneration.choices],
        required=False,
    )
    form_factor = forms.ChoiceField(
        choices=[("", "Any"), *MemoryKit.FormFactor.choices], required=False
    )
    ecc = forms.ChoiceField(label="ECC", choices=ECC_CHOICES, required=False)
    max_price_per_gb = forms.DecimalField(
        label="Max price per GB",
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("10000"),
        decimal_places=2,
    )

    def filter(self, kits):
        data = self.cleaned_data
        if data.get("capacity"):
            kits = kits.with_capacity_at_least(data["capacity"])
        if data.get("ddr"):
            kits = kits.filter(ddr_generation=data["ddr"])
        if data.get("form_factor"):
            kits = kits.filter(form_factor=data["form_factor"])
        if data.get("ecc"):
            kits = kits.filter(ecc=data["ecc"] == "yes")
        if data.get("max_price_per_gb"):
            kits = kits.with_price_per_gb_at_most(data["max_price_per_gb"])
        return kits
