"""Factories for the campaigns app's models (rows only: no image is decoded or rendered)."""

import factory
from django.core.files.base import ContentFile

from campaigns.models import AdCopySet, Campaign, Creative, Placement, Product, ProductPool
from templates_app.models import Template, TemplateVersion


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"P-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    price = 99
    main_image = factory.LazyAttribute(lambda p: f"products/{p.sku}.jpg")


class PlacementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Placement

    name = factory.Sequence(lambda n: f"placement {n}")
    channel = Placement.Channel.RECOMMENDATION
    sizes = [[300, 250]]


class ProductPoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductPool

    name = factory.Sequence(lambda n: f"pool {n}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"campaign {n}")
    copy = factory.LazyFunction(lambda: AdCopySet.objects.create(name="copy", titles=["Winter sale"]))
    status = Campaign.Status.LIVE


class TemplateVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateVersion

    template = factory.LazyFunction(lambda: Template.objects.create(name=f"t{Template.objects.count()}"))
    number = 1
    spec = factory.LazyFunction(dict)


class CreativeFactory(factory.django.DjangoModelFactory):
    """An approved 300x250 image creative of one product."""

    class Meta:
        model = Creative
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    product_key = factory.Sequence(lambda n: f"P-{n}")
    template_version = factory.SubFactory(TemplateVersionFactory)
    width = 300
    height = 250
    variant = 0
    file = factory.LazyAttribute(lambda c: f"creatives/{c.product_key}.jpg")
    content_hash = factory.LazyAttribute(lambda c: c.product_key)
    aesthetic_score = 70.0
    state = Creative.State.APPROVED

    @factory.post_generation
    def stored_file(creative, create, extracted, **kwargs):
        """`stored_file=b"..."` writes those bytes to storage as the creative's file (else only its name is set)."""
        if extracted is not None:
            creative.file.save(f"{creative.product_key}.jpg", ContentFile(extracted), save=create)
