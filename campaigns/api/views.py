from rest_framework import generics

from creativeadmin.permissions import ModelPermissionsIncludingView

from .. import selectors
from .serializers import ProductSerializer


class ProductListView(generics.ListAPIView):
    """The product catalogue (Operators)."""

    serializer_class = ProductSerializer
    permission_classes = [ModelPermissionsIncludingView]

    def get_queryset(self):
        return selectors.product_list(category=self.request.query_params.get("category"))
