from django.shortcuts import redirect


def home(request):
    # The end-user webapp is its own issue; until then the product's front door is the console.
    return redirect("admin:index")
